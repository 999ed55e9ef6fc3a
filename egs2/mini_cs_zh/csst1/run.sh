#!/usr/bin/env bash
# The Mandarin-English mini recipe: the generator's second pair (zh-en), code-switched
# Mandarin-English speech translated into English, next to two ESPnet ST models. Made by
# following doc/tutorial.md ("Your own code-switched data"); the same model and budgets as
# egs2/mini_cs/csst1 (frozen Whisper base frames -> conformer adapter with a CTC head over
# the LLM's pieces -> MoE projector -> the text-pretrained mini LLM; doc/whisper.md), with
# expert groups for zh and en and a token list that holds the corpus's 584 Chinese
# characters. No download beyond the packaged Whisper base; about an hour on 2 CPU cores
# (stage times: RESULTS.md).
#   ./run.sh                               # everything
#   ./run.sh --stage 11 --stop_stage 14    # decode and score again
#   ./run.sh --help                        # all options
set -euo pipefail
cd "$(dirname "$0")"
. ./db.sh

text="${MINI_CS}/text"
# LLM pre-training text: "<task>_<src>_<tgt>|<source lines>|<target lines>|<sampling weight>"
lm_text="st_zh_en|${text}/parallel.zh|${text}/parallel.en|0.45"
lm_text+=" st_cs_en|${text}/parallel_cs.cs|${text}/parallel_cs.en|0.25"
lm_text+=" asr_zh_zh|${text}/mono.zh|${text}/mono.zh|0.15"
lm_text+=" asr_en_en|${text}/mono.en|${text}/mono.en|0.15"

./csst.sh \
    --tgt_lang en --languages "zh en" \
    --asr_train_sets "train_asr_en train_mono_zh" \
    --mono_train_sets "train_mono_zh" \
    --cs_train_sets "train_cs" \
    --replay_ratio_B 0.33 --replay_ratio_C 10 \
    --mono_valid_set dev_mono --cs_valid_set dev_cs \
    --test_sets "test_cs test_mono_zh" \
    --lm_text "${lm_text}" \
    --vocab_size 1500 --src_vocab_size 0 \
    --train_config conf/tuning/train_csst_whisper.yaml \
    --inference_config conf/decode_csst.yaml \
    --peer_config conf/peer_st.yaml \
    --peer_inference_config conf/peer_decode.yaml \
    --peer_frames_config conf/peer_st_whisper.yaml \
    --peer_frames_inference_config conf/peer_decode_whisper.yaml \
    --llm_pretrain_args "--steps 800 --batch_size 64 --dev_bleu_interval 400" \
    --stageA_args "--max_epoch 4" \
    --stageB_args "--max_epoch 1" \
    --stageC_args "--max_epoch 2 --model_conf transition_lambda_min=1.0" \
    --peer_max_epoch 3 \
    "$@"
