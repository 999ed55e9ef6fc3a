#!/usr/bin/env bash
# Data preparation for Fisher Spanish-English with the code-switched / monolingual split
# of Weller et al. (2022).
#   stage 1: parse FISHER_SPANISH_SPEECH (LDC2010S01), FISHER_SPANISH_TRANSCRIPTS
#            (LDC2010T04), FISHER_CALLHOME_TRANSLATIONS and FISHER_CS_SPLITS (db.sh) into
#            data/{train,dev,dev2,test} and data/{train_cs,dev_cs,train_mono,test_cs,test_mono};
#            written to a temporary dir, validated, then moved into data/
#   stage 2: print utterances and hours of each data dir
# Run from the recipe directory (egs2/fisher_cs/csst1): ./local/data.sh
set -euo pipefail


stage=1
stop_stage=2
sph_reader=auto   # auto (soundfile if libsndfile reads the .sph files, else sph2pipe),
                  # soundfile, or sph2pipe
sph2pipe=""       # sph2pipe binary; empty: the one on PATH
en_ref=0          # which of the four English references of dev/dev2/test is text.en
usage="options: --stage N --stop_stage N --sph_reader auto|soundfile|sph2pipe --sph2pipe PATH --en_ref 0-3"

while [ $# -gt 0 ]; do
    case "$1" in
        --stage) stage="$2"; shift 2 ;;
        --stop_stage) stop_stage="$2"; shift 2 ;;
        --sph_reader) sph_reader="$2"; shift 2 ;;
        --sph2pipe) sph2pipe="$2"; shift 2 ;;
        --en_ref) en_ref="$2"; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; echo "${usage}"; exit 0 ;;
        *) die "unknown option '$1' (${usage})" ;;
    esac
done

[ -f ./scripts/utils/data_lib.sh ] || { echo "${0##*/}: error: run this script from the recipe directory (fisher_cs/csst1)" >&2; exit 1; }
. ./scripts/utils/data_lib.sh
[ -f ./db.sh ] || die "no ./db.sh in ${PWD}; run this script from the recipe directory (egs2/fisher_cs/csst1)"
[ -f ./path.sh ] || die "no ./path.sh in ${PWD}; run this script from the recipe directory (egs2/fisher_cs/csst1)"
. ./db.sh
. ./path.sh

require_db FISHER_SPANISH_SPEECH "the Fisher Spanish Speech release LDC2010S01 (https://catalog.ldc.upenn.edu/LDC2010S01)"
require_db FISHER_SPANISH_TRANSCRIPTS "the Fisher Spanish Transcripts release LDC2010T04 (https://catalog.ldc.upenn.edu/LDC2010T04)"
require_db FISHER_CALLHOME_TRANSLATIONS "a checkout of https://github.com/joshua-decoder/fisher-callhome-corpus"
require_db FISHER_CS_SPLITS "fisher_mapping.csv of https://github.com/apple/ml-code-switched-speech-translation (or 'derive')" derive


dirs="train dev dev2 test train_cs dev_cs train_mono test_cs test_mono"

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: Fisher Spanish-English with the Weller et al. CS split -> data/{${dirs// /,}}"
    tmp="$(mktemp -d "${PWD}/.data_tmp.XXXXXX")"
    trap 'rm -rf "${tmp}"' EXIT
    python -m espnet_csst.data.corpora.fisher_cs \
        --speech "${FISHER_SPANISH_SPEECH}" --transcripts "${FISHER_SPANISH_TRANSCRIPTS}" \
        --translations "${FISHER_CALLHOME_TRANSLATIONS}" --cs_splits "${FISHER_CS_SPLITS}" \
        --sph_reader "${sph_reader}" ${sph2pipe:+--sph2pipe "${sph2pipe}"} \
        --en_ref "${en_ref}" --out_dir "${tmp}"
    install_validated_dirs "${tmp}"
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: size of each data dir"
    for d in ${dirs}; do
        if [ ! -f "data/${d}/utt2spk" ]; then
            echo "  data/${d}: not written (empty subset)"
            continue
        fi
        printf '  data/%s: %s utterances, %s hours\n' "${d}" "$(wc -l < "data/${d}/utt2spk")" \
            "$(awk '{s += $2} END {printf "%.2f", s / 3600}' "data/${d}/utt2dur")"
    done
fi
