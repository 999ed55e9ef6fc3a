#!/usr/bin/env bash
# Data preparation for CVSS speech-to-speech translation (X -> en).
#   stage 1: parse CVSS, COMMONVOICE (and COVOST2 when set) from db.sh into
#            data/{train,dev,test}_cvss_<version>_<src>_en (wav.scp.<src>, wav.scp.en,
#            text.<src>, text.en, ...); written to a temporary dir, validated, then moved
#   stage 2: print utterances and hours (source side) of each data dir
# Run from the recipe directory (egs2/cvss/s2st_lm1): ./local/data.sh --src_lang es --version c
set -euo pipefail


stage=1
stop_stage=2
src_lang=es       # CVSS source: ar ca cy de et es fa fr id it ja lv mn nl pt ru sl sv ta tr zh
version=c         # c (CVSS-C, one canonical target voice) or t (CVSS-T, source voices)
tgt_text=cvss     # text.en: cvss (normalized, matches the target speech) or covost
nj=4              # threads reading audio headers
usage="options: --stage N --stop_stage N --src_lang CODE --version c|t --tgt_text cvss|covost --nj N"

while [ $# -gt 0 ]; do
    case "$1" in
        --stage) stage="$2"; shift 2 ;;
        --stop_stage) stop_stage="$2"; shift 2 ;;
        --src_lang) src_lang="$2"; shift 2 ;;
        --version) version="$2"; shift 2 ;;
        --tgt_text) tgt_text="$2"; shift 2 ;;
        --nj) nj="$2"; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; echo "${usage}"; exit 0 ;;
        *) die "unknown option '$1' (${usage})" ;;
    esac
done
case "${version}" in c|t) ;; *) die "--version must be c or t, got '${version}'" ;; esac

[ -f ./scripts/utils/data_lib.sh ] || { echo "${0##*/}: error: run this script from the recipe directory (cvss/s2st_lm1)" >&2; exit 1; }
. ./scripts/utils/data_lib.sh
[ -f ./db.sh ] || die "no ./db.sh in ${PWD}; run this script from the recipe directory (egs2/cvss/s2st_lm1)"
[ -f ./path.sh ] || die "no ./path.sh in ${PWD}; run this script from the recipe directory (egs2/cvss/s2st_lm1)"
. ./db.sh
. ./path.sh

cv_lang="${src_lang}"
case "${src_lang}" in zh) cv_lang=zh-CN ;; sv) cv_lang=sv-SE ;; esac
require_db CVSS "the directory holding ${src_lang}-en/ of CVSS-${version^^} (https://github.com/google-research-datasets/cvss)"
require_db COMMONVOICE "the extracted Common Voice 4 release of '${cv_lang}' (the directory with clips/ and validated.tsv)"
covost_opt=()
if [ -n "${COVOST2:-}" ]; then
    require_db COVOST2 "the directory with covost_v2.${cv_lang}_en.tsv, or leave it empty"
    covost_opt=(--covost_dir "${COVOST2}")
elif [ "${tgt_text}" = covost ]; then
    require_db COVOST2 "the directory with covost_v2.${cv_lang}_en.tsv (needed by --tgt_text covost)"
fi


dirs="train_cvss_${version}_${src_lang}_en dev_cvss_${version}_${src_lang}_en test_cvss_${version}_${src_lang}_en"

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: CVSS-${version^^} ${src_lang}->en from ${CVSS} and ${COMMONVOICE} -> data/{${dirs// /,}}"
    tmp="$(mktemp -d "${PWD}/.data_tmp.XXXXXX")"
    trap 'rm -rf "${tmp}"' EXIT
    python -m espnet_csst.data.corpora.cvss \
        --cvss_root "${CVSS}" --version "${version}" --cv_root "${COMMONVOICE}" \
        --src_lang "${src_lang}" --tgt_text "${tgt_text}" --nj "${nj}" \
        ${covost_opt[@]+"${covost_opt[@]}"} --out_dir "${tmp}"
    install_validated_dirs "${tmp}"
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: size of each data dir"
    for d in ${dirs}; do
        [ -f "data/${d}/utt2spk" ] || die "data/${d} is missing; run stage 1 first"
        printf '  data/%s: %s utterances, %s hours of source speech\n' "${d}" \
            "$(wc -l < "data/${d}/utt2spk")" \
            "$(awk '{s += $2} END {printf "%.2f", s / 3600}' "data/${d}/utt2dur.${src_lang}")"
    done
fi
