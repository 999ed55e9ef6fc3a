#!/usr/bin/env bash
# The embedded mini S2ST recipe: Spanish speech -> English speech, generated with espeak-ng
# (no download), by a small LLM over k-means units trained with scheduled interleaved
# speech-text sequences (stages in ../../TEMPLATE/s2st_lm1/s2st.sh). Trains the four systems
# of the ablation (a: pure units, b: constant ratio, c: scheduled, d: scheduled source-only),
# and a unit vocoder; ASR-BLEU is judged by OpenAI's pretrained Whisper base (packaged, no download:
# local/data.sh stage 3; --asr_judge ctc trains the recipe's own CTC ASR instead, conf/asr_ctc.yaml),
# with beam 4: on 100 English reference utterances ASR-BLEU 79.8 against 77.2 greedy (doc/s2st.md),
# in CTranslate2's runtime (the same weights, converted once): 2.7x faster than transformers, the
# same ASR-BLEU on 40 test references, 39 of 40 transcripts identical (bench/RESULTS.md, judge).
# RESULTS.md has the numbers and stage times. The MFCC units (K 200) were chosen on dev against
# Whisper-base blocks 4 and 6 by local/choose_units.sh (resynthesis ceiling, unit LM accuracy and
# ASR-BLEU; doc/s2st.md, "Choosing the unit features on dev").
#   ./run.sh                               # everything
#   ./run.sh --stage 9 --stop_stage 11     # decode, synthesize and score again
#   ./run.sh --help                        # all options
set -euo pipefail
cd "$(dirname "$0")"

./s2st.sh \
    --src_lang es --tgt_lang en \
    --train_set s2st_train --valid_set s2st_dev --test_sets s2st_test \
    --lm_text "s2st_es_en|data/lm_text/parallel.es|data/lm_text/parallel.en|1.0" \
    --llm_pretrain_args "--steps 600 --batch_size 64 --dev_bleu_interval 300" \
    --feature_type mfcc --n_units 200 --max_units 320 \
    --vocoder_args "--steps 600" \
    --train_config conf/train_unit_lm.yaml \
    --inference_config conf/decode_unit_lm.yaml \
    --asr_judge whisper --judge_model pretrained/whisper_base --judge_args "--backend ctranslate2 --beam_size 4 --max_tokens_per_second 6" \
    --asr_config conf/asr_ctc.yaml \
    --systems "a b c d" \
    "$@"
