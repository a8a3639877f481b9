# Two entry points, both safe to run again: `make demo` and `make test`.
# Each first installs what is missing (Debian packages, the .venv with torch==2.11.0).
SHELL := /bin/bash
export LIBTORCH_USE_PYTORCH := 1
export VIRTUAL_ENV := $(CURDIR)/.venv
export PATH := $(CURDIR)/.venv/bin:$(PATH)
CARGO ?= cargo

.PHONY: demo test setup build

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --release --locked

demo: build
	@scripts/demo.sh

test: setup
	$(CARGO) test --release --locked --no-fail-fast
