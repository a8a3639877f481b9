# Source this to build pavseg by hand: libtorch comes from the torch wheel in .venv.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LIBTORCH_USE_PYTORCH=1
export VIRTUAL_ENV="$root/.venv"
export PATH="$root/.venv/bin:$PATH"
