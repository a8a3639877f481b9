# Two entry points, both safe to run again: `make demo` and `make test`.
# Each first installs what it is missing (scripts/setup.sh): `make demo` only what the demo
# runs (dcmtk, cmake, a .venv with torch==2.11.0 for libtorch); `make test` also the DICOM
# validators and the Python reference tools.
SHELL := /bin/bash
export LIBTORCH_USE_PYTORCH := 1
export VIRTUAL_ENV := $(CURDIR)/.venv
export PATH := $(CURDIR)/.venv/bin:$(PATH)
CARGO ?= cargo

.PHONY: demo test setup-demo setup-test build

setup-demo:
	@scripts/setup.sh demo

setup-test:
	@scripts/setup.sh test

build: setup-demo
	$(CARGO) build --release --locked

demo: build
	@scripts/demo.sh

test: setup-test
	$(CARGO) test --release --locked --no-fail-fast
