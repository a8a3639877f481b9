#!/usr/bin/env bash
# Installs what pavseg needs, skipping what is already there. Safe to run again: each step
# checks first.
#   scripts/setup.sh demo   what `make demo` needs: dcmtk (the demo's PACS), cmake (CharLS is
#                           built from source), python3-venv, and a .venv with only torch==2.11.0
#   scripts/setup.sh test   what `make test` needs on top: dicom3tools, Orthanc, gdcm tools, GNU
#                           time, curl, tesseract (reads the PNG preview back), Prometheus
#                           (scrapes the node), openssl (test certificates), Orthanc's DICOMweb
#                           plugin (STOW-RS destination, OHIF's data source), Chromium, Node.js
#                           and npm (the OHIF viewer test: OHIF's prebuilt viewer into
#                           .work/ohif/, playwright-core into tests/ohif/node_modules), and the
#                           Python validators of requirements-dev.txt
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}
case "$what" in
  demo) tools=(storescu:dcmtk cmake:cmake) ; requirements=(requirements-demo.txt) ;;
  test) tools=(storescu:dcmtk cmake:cmake dciodvfy:dicom3tools Orthanc:orthanc gdcmconv:libgdcm-tools
               /usr/bin/time:time curl:curl tesseract:tesseract-ocr prometheus:prometheus promtool:prometheus
               openssl:openssl fallocate:util-linux chromium:chromium node:nodejs npm:npm
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

if [ "$what" = test ]; then
  # The OHIF viewer of tests/ohif_viewer.rs: the npm package's prebuilt dist/ (no build), kept
  # in an ignored folder named by its version, so a new version is fetched beside the old one.
  ohif_version=3.13.2
  ohif=.work/ohif/app-$ohif_version
  if [ ! -f "$ohif/dist/index.html" ]; then
    echo "setup: fetching @ohif/app@$ohif_version (prebuilt viewer) into $ohif"
    rm -rf "$ohif" && mkdir -p "$ohif"
    (cd "$ohif" && npm pack --silent "@ohif/app@$ohif_version" >/dev/null && tar xzf ohif-app-"$ohif_version".tgz --strip-components=1 && rm ohif-app-"$ohif_version".tgz)
    [ -f "$ohif/dist/index.html" ] || { echo "setup: @ohif/app@$ohif_version has no dist/index.html" >&2; exit 1; }
  fi
  # playwright-core (the DevTools-protocol driver; no browser download: it runs Debian's
  # chromium), as pinned by tests/ohif/package-lock.json; reinstalled when the lock changes.
  lock_stamp=tests/ohif/node_modules/.installed-$(sha256sum tests/ohif/package-lock.json | cut -c1-16)
  if [ ! -f "$lock_stamp" ]; then
    echo "setup: npm ci in tests/ohif (playwright-core)"
    (cd tests/ohif && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
    touch "$lock_stamp"
  fi
fi
