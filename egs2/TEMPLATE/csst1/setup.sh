#!/usr/bin/env bash
# Make a new csst1 recipe directory, like ESPnet's egs2/TEMPLATE/asr1/setup.sh:
#   egs2/TEMPLATE/csst1/setup.sh egs2/<corpus>/csst1 [--conf_from egs2/mini_cs/csst1/conf]
# It links the shared stage script and helpers (csst.sh, path.sh, scripts/), copies the
# configs of a working recipe into conf/ to start from, and leaves local/ and db.sh for you:
# local/data.sh must write the Kaldi-style data dirs of doc/data.md into data/<set>/, and
# run.sh names those sets and calls ./csst.sh (doc/tutorial.md walks through both).
set -euo pipefail

# paths as given (symlinks kept), so that the links below are ../../TEMPLATE/csst1/...
template="$(cd "$(dirname "$0")" && pwd)"
conf_from="$(realpath -m -s "${template}/../../mini_cs/csst1/conf")"
target=""
while [ $# -gt 0 ]; do
    case "$1" in
        --conf_from) conf_from="$2"; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "setup.sh: error: unknown option '$1' (options: --conf_from)" >&2; exit 1 ;;
        *) [ -z "${target}" ] || { echo "setup.sh: error: one target directory, got '${target}' and '$1'" >&2; exit 1; }
           target="$1"; shift ;;
    esac
done
[ -n "${target}" ] || { echo "usage: $0 egs2/<corpus>/csst1 [--conf_from DIR]" >&2; exit 1; }
[ -d "${conf_from}" ] || { echo "setup.sh: error: --conf_from '${conf_from}' is not a directory" >&2; exit 1; }
if [ -e "${target}/csst.sh" ] || [ -e "${target}/run.sh" ]; then
    echo "setup.sh: error: '${target}' already holds a recipe (csst.sh or run.sh); choose a new directory" >&2
    exit 1
fi

mkdir -p "${target}/conf" "${target}/local"
# relative links, so that the checkout can be moved
rel="$(realpath -s --relative-to="$(cd "${target}" && pwd)" "${template}")"
for name in csst.sh path.sh scripts; do
    ln -s "${rel}/${name}" "${target}/${name}"
done
for f in "${conf_from}"/*.yaml; do
    [ -e "${target}/conf/$(basename "${f}")" ] || cp "${f}" "${target}/conf/"
done
echo "setup.sh: made ${target}: csst.sh, path.sh, scripts/ -> ${rel}/; conf/ from ${conf_from}"
echo "setup.sh: next: write ${target}/local/data.sh (data/<set>/ as in doc/data.md), db.sh and run.sh (doc/tutorial.md)"
