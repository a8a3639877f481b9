#!/usr/bin/env bash
# Installs what pavseg needs, skipping what is already there. Safe to run again: each step
# checks first.
#   scripts/setup.sh demo   what `make demo` needs: dcmtk (the demo's PACS), cmake (CharLS is
#                           built from source), python3-venv, and a .venv with only torch==2.11.0
#   scripts/setup.sh test   what `make test` needs on top: dicom3tools, Orthanc, gdcm tools, GNU
#                           time, curl, tesseract (reads the PNG preview back), Prometheus
#                           (scrapes the node), openssl (test certificates), Orthanc's DICOMweb
#                           plugin (STOW-RS destination, OHIF's data source), Chromium (the
#                           OHIF viewer test), and the Python
#                           validators of requirements-dev.txt
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}
case "$what" in
  demo) tools=(storescu:dcmtk cmake:cmake) ; requirements=(requirements-demo.txt) ;;
  test) tools=(storescu:dcmtk cmake:cmake dciodvfy:dicom3tools Orthanc:orthanc gdcmconv:libgdcm-tools
               /usr/bin/time:time curl:curl tesseract:tesseract-ocr prometheus:prometheus promtool:prometheus
               openssl:openssl fallocate:util-linux chromium:chromium
               /usr/share/orthanc/plugins/libOrthancDicomWeb.so:orthanc-dicomweb)
        requirements=(requirements-demo.txt requirements-dev.txt) ;;
  *) echo "usage: scripts/setup.sh demo|test" >&2; exit 2 ;;
esac

need_apt=()
for pair in "${tools[@]}"; do
  # A command on PATH, or a file (a plugin) at an absolute path.
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -e "${pair%%:*}" ] || need_apt+=("${pair#*:}")
done
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if ((${#need_apt[@]})); then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo (Rust >= 1.85) is required; install it with rustup" >&2; exit 1; }

# One stamp per requirement set, named by the hash of its files: an edited file reinstalls.
stamp=.venv/.installed-$what-$(cat "${requirements[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  echo "setup: installing ${requirements[*]} into .venv (torch==2.11.0 pinned)"
  .venv/bin/python -m pip install -q --upgrade pip
  # The CUDA wheels are large; resume interrupted downloads instead of failing (pip >= 25.1).
  resume=()
  .venv/bin/python -m pip install --help | grep -q -- --resume-retries && resume=(--resume-retries 20)
  args=()
  for r in "${requirements[@]}"; do args+=(-r "$r"); done
  # torch is pinned in the same command, so that no dependency can move it.
  .venv/bin/python -m pip install -q "${resume[@]}" "${args[@]}" torch==2.11.0
  rm -f .venv/.installed-"$what"-*
  touch "$stamp"
fi
