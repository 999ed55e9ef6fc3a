#!/usr/bin/env bash
# The embedded mini recipe: Spanish-English code-switched speech generated with espeak-ng,
# translated into English by an LLM-based model (stages in ../../TEMPLATE/csst1/csst.sh),
# next to ESPnet's stock ST model. No download; about 30 minutes on 2 CPU cores.
#   ./run.sh                               # everything
#   ./run.sh --stage 11 --stop_stage 14    # decode and score again
#   ./run.sh --help                        # all options
set -euo pipefail
cd "$(dirname "$0")"
. ./db.sh

text="${MINI_CS}/text"
# The model (conf/train_csst.yaml): conformer -> language-group MoE projector -> small Llama,
# trained A (ASR) -> B (monolingual ST) -> C (code-switched ST) with the transition loss:
# B replays a third of A's data and C all of B's, in the same batches, weighted by lambda(t)
# (doc/moe.md). Stage C needs the monolingual data: its 300 code-switched utterances alone
# overfit within two epochs (dev_cs accuracy 0.585 -> 0.568). Its transition schedule was
# chosen on dev by local/tune_transition.sh (RESULTS.md, "Dev" table): a constant weight 1
# (mean dev BLEU 2.67) beat decaying to 0.1 over 150 steps (1.54) or to 0.3 over 300 (1.50).
# Budgets (doc/csst.md), 30 minutes in all on 2 cores (RESULTS.md): 800 steps of LLM text
# pre-training (in a 1200-step run the LLM's es->en translation of held-out text was at
# BLEU 6 after 400 steps, 33 after 600, 61 after 800, 79 after 1200), 6 epochs of speech
# training for the CSST model (A 3, B 1, C 2) and 3 for the peer (about 10 vs 7 minutes).
# LLM pre-training text: "<task>_<src>_<tgt>|<source lines>|<target lines>|<sampling weight>"
lm_text="st_es_en|${text}/parallel.es|${text}/parallel.en|0.45"
lm_text+=" st_cs_en|${text}/parallel_cs.cs|${text}/parallel_cs.en|0.25"
lm_text+=" asr_es_es|${text}/mono.es|${text}/mono.es|0.15"
lm_text+=" asr_en_en|${text}/mono.en|${text}/mono.en|0.15"

./csst.sh \
    --tgt_lang en --languages "es en" \
    --asr_train_sets "train_asr_en train_mono_es" \
    --mono_train_sets "train_mono_es" \
    --cs_train_sets "train_cs" \
    --replay_ratio_B 0.33 --replay_ratio_C 10 \
    --mono_valid_set dev_mono --cs_valid_set dev_cs \
    --test_sets "test_cs test_mono_es" \
    --lm_text "${lm_text}" \
    --train_config conf/train_csst.yaml \
    --inference_config conf/decode_csst.yaml \
    --peer_config conf/peer_st.yaml \
    --peer_inference_config conf/peer_decode.yaml \
    --llm_pretrain_args "--steps 800 --batch_size 64 --dev_bleu_interval 400" \
    --stageA_args "--max_epoch 3" \
    --stageB_args "--max_epoch 1" \
    --stageC_args "--max_epoch 2 --model_conf transition_lambda_min=1.0" \
    --peer_max_epoch 3 \
    "$@"
