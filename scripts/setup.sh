#!/usr/bin/env bash
# Installs what pavseg's build, tests and demo need, skipping what is already there:
# Debian packages (dcmtk, dicom3tools, orthanc, cmake, gdcm tools, python3-venv) and the
# project-local .venv with the pinned torch wheel and the Python validators.
# Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pair in storescu:dcmtk dciodvfy:dicom3tools Orthanc:orthanc cmake:cmake gdcmconv:libgdcm-tools \
            /usr/bin/time:time curl:curl; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if ((${#need_apt[@]})); then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo (Rust >= 1.85) is required; install it with rustup" >&2; exit 1; }

stamp=.venv/.requirements-$(sha256sum requirements-dev.txt | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  echo "setup: installing Python test tools into .venv (torch==2.11.0 and validators)"
  .venv/bin/python -m pip install -q --upgrade pip
  # torch is pinned in the same command so that no dependency can move it.
  # The CUDA wheels are large; resume interrupted downloads instead of failing (pip >= 25.1).
  resume=()
  .venv/bin/python -m pip install --help | grep -q -- --resume-retries && resume=(--resume-retries 20)
  .venv/bin/python -m pip install -q "${resume[@]}" -r requirements-dev.txt torch==2.11.0
  rm -f .venv/.requirements-*
  touch "$stamp"
fi
