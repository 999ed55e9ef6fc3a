#!/usr/bin/env bash
# Data preparation for CoVoST 2 (Common Voice clips + CoVoST 2 translations).
#   stage 1: parse COMMONVOICE and COVOST2 (db.sh) into data/{train,dev,test}_<src>_<tgt>;
#            the dirs are written to a temporary dir, validated, then moved into data/
#   stage 2: print utterances and hours of each data dir
# Run from the recipe directory (egs2/covost2/csst1): ./local/data.sh --src_lang es --tgt_lang en
set -euo pipefail


stage=1
stop_stage=2
src_lang=es       # CoVoST 2 code of the speech: es, fr, de, ..., zh-CN, sv-SE, or en
tgt_lang=en       # en for X->en, or de, ja, zh-CN, ... for en->X
nj=4              # threads reading audio headers
usage="options: --stage N --stop_stage N --src_lang CODE --tgt_lang CODE --nj N"

while [ $# -gt 0 ]; do
    case "$1" in
        --stage) stage="$2"; shift 2 ;;
        --stop_stage) stop_stage="$2"; shift 2 ;;
        --src_lang) src_lang="$2"; shift 2 ;;
        --tgt_lang) tgt_lang="$2"; shift 2 ;;
        --nj) nj="$2"; shift 2 ;;
        -h|--help) sed -n '2,6p' "$0"; echo "${usage}"; exit 0 ;;
        *) die "unknown option '$1' (${usage})" ;;
    esac
done

[ -f ./scripts/utils/data_lib.sh ] || { echo "${0##*/}: error: run this script from the recipe directory (covost2/csst1)" >&2; exit 1; }
. ./scripts/utils/data_lib.sh
[ -f ./db.sh ] || die "no ./db.sh in ${PWD}; run this script from the recipe directory (egs2/covost2/csst1)"
[ -f ./path.sh ] || die "no ./path.sh in ${PWD}; run this script from the recipe directory (egs2/covost2/csst1)"
. ./db.sh
. ./path.sh

require_db COMMONVOICE "the extracted Common Voice 4 release of '${src_lang}' (the directory with clips/ and validated.tsv)"
require_db COVOST2 "the directory with covost_v2.${src_lang}_${tgt_lang}.tsv (https://github.com/facebookresearch/covost)"


# Data dir names as espnet_csst.data.corpora.covost2 writes them (ISO 639 codes).
iso() { case "$1" in zh-*) echo zh ;; sv-*) echo sv ;; *) echo "${1%%-*}" ;; esac; }
pair="$(iso "${src_lang}")_$(iso "${tgt_lang}")"
dirs="train_${pair} dev_${pair} test_${pair}"

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: CoVoST 2 ${src_lang}->${tgt_lang} from ${COMMONVOICE} and ${COVOST2} -> data/{${dirs// /,}}"
    tmp="$(mktemp -d "${PWD}/.data_tmp.XXXXXX")"
    trap 'rm -rf "${tmp}"' EXIT
    python -m espnet_csst.data.corpora.covost2 \
        --cv_root "${COMMONVOICE}" --covost_dir "${COVOST2}" \
        --src_lang "${src_lang}" --tgt_lang "${tgt_lang}" --nj "${nj}" --out_dir "${tmp}"
    install_validated_dirs "${tmp}"
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: size of each data dir"
    for d in ${dirs}; do
        [ -f "data/${d}/utt2spk" ] || die "data/${d} is missing; run stage 1 first"
        printf '  data/%s: %s utterances, %s hours\n' "${d}" "$(wc -l < "data/${d}/utt2spk")" \
            "$(awk '{s += $2} END {printf "%.2f", s / 3600}' "data/${d}/utt2dur")"
    done
fi
