# Environment for espnet_csst recipes (sourced by run.sh and local/*.sh).
# MAIN_ROOT is the espnet_csst checkout; its .venv (made by `make`) is used when present.
MAIN_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && cd ../../.. && pwd)"
export MAIN_ROOT
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "${MAIN_ROOT}/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "${MAIN_ROOT}/.venv/bin/activate"
fi
export PYTHONPATH="${MAIN_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
export PYTHONIOENCODING=UTF-8
export LC_ALL=C.UTF-8
