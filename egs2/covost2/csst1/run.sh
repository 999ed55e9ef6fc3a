#!/usr/bin/env bash
# CoVoST 2 X->En speech translation with a pretrained Whisper encoder and a pretrained LLM
# (LoRA), aligned by AI-STA's OT loss at the layers chosen by cross-modal retrieval.
# Needs the corpora (db.sh) and the models (conf/train_csst.yaml, local paths or hub names).
#   ./run.sh --src_lang es                  # everything
#   ./run.sh --stage 8 --stop_stage 8       # the layer selection again (exp/align_layers/)
#   ./run.sh --help                         # all options of csst.sh
set -euo pipefail
cd "$(dirname "$0")"

src_lang=es
if [ "${1:-}" = --src_lang ]; then src_lang="$2"; shift 2; fi
pair="${src_lang}_en"

# CoVoST 2 has no code-switched speech: stage A (ASR) then stage C (ST), no stage B.
# The LLM's own tokenizer (token_type hugging_face) keeps its vocabulary and embeddings.
./csst.sh \
    --local_data_opts "--src_lang ${src_lang} --tgt_lang en" \
    --tgt_lang en --languages "${src_lang}" \
    --asr_train_sets "train_${pair}" \
    --mono_train_sets "train_${pair}" \
    --cs_train_sets "train_${pair}" \
    --mono_valid_set "dev_${pair}" --cs_valid_set "dev_${pair}" \
    --test_sets "test_${pair}" \
    --train_stages "A C" \
    --token_type hugging_face --hf_tokenizer meta-llama/Llama-3.2-1B --src_vocab_size 0 \
    --train_config conf/train_csst.yaml \
    --inference_config conf/decode_csst.yaml \
    --use_ot_align true --ot_weight 0.5 --align_top_k 2 --align_data "dump/raw/stageC_valid" \
    --run_peer false \
    --ngpu 1 \
    "$@"
