#!/usr/bin/env bash
# CVSS-C X -> En speech-to-speech translation, the paper's setting: Llama-3.2-1B (LoRA) over
# HuBERT k-means units with scheduled interleaved speech-text training (stages in
# ../../TEMPLATE/s2st_lm1/s2st.sh). Set CVSS and COMMONVOICE in db.sh first.
#   ./run.sh --src_lang es                          # es -> en, all stages
#   ./run.sh --src_lang es --systems "a c"          # the ablation's baseline and the method
# Word times: CVSS has none, so stage 5 aligns both sides by CTC forced alignment with ESPnet
# CTC ASR models: the target side with the English ASR that stage 7 trains for ASR-BLEU, the
# source side with --src_align_asr (an ESPnet CTC ASR of the source language; without one the
# source is not interleaved). Stage 7 must run before stage 5:
#   ./run.sh --src_lang es --stop_stage 3 && ./run.sh --src_lang es --stage 7 --stop_stage 7 &&
#   ./run.sh --src_lang es --stage 4
# Units: HuBERT through transformers from a local directory (no download at run time):
#   --feature_conf '{"path": "/models/hubert-base-ls960", "layer": 6}'
# deduplicated (--dedup true); stage 6 trains a unit HiFi-GAN with a duration model on the
# English target speech (conf/vocoder_hifigan.yaml; a GPU and about a day for 200k steps).
set -euo pipefail
cd "$(dirname "$0")"

src_lang=es
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --src_lang) src_lang="$2"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
sets="cvss_c_${src_lang}_en"

./s2st.sh \
    --src_lang "${src_lang}" --tgt_lang en \
    --local_data_opts "--src_lang ${src_lang} --version c" \
    --train_set "train_${sets}" --valid_set "dev_${sets}" --test_sets "test_${sets}" \
    --token_type hugging_face --hf_tokenizer meta-llama/Llama-3.2-1B \
    --feature_type hf_ssl --feature_conf '{"path": "/models/hubert-base-ls960", "layer": 6}' \
    --n_units 500 --kmeans_portion 0.1 --max_units 1500 --dedup true \
    --tgt_align_asr exp/asr_en \
    --vocoder_type hifigan --vocoder_config conf/vocoder_hifigan.yaml \
    --vocoder_args "--steps 200000 --batch_size 16 --segment_units 40 --adversarial_start 5000" \
    --train_config conf/train_unit_lm.yaml \
    --inference_config conf/decode_unit_lm.yaml \
    --asr_config conf/asr_ctc.yaml \
    --systems "a b c d" \
    "${args[@]}"
