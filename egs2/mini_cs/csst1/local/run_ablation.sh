#!/usr/bin/env bash
# Ablation of the language-group MoE projector, its losses and the transition loss
# (DESIGN.md 3.1-3.2) on the mini corpus. Every system trains on the same speech for the
# same number of epochs per stage from the same pre-trained LLM; the table reports each one's
# training time.
#   a  linear projector, code-switched ST only (stage C alone, as many steps as A+B+C of b)
#   b  linear projector, stages A -> B -> C
#   c  MoE projector without the language and balance losses, A -> B -> C
#   d  MoE with both losses, A -> B -> C
#   e  (d) + the transition loss: B and C replay the previous stage's data, weighted by lambda(t)
#   peer: ESPnet's stock ST model (stages 11-12 of the recipe)
# Systems a-d train stage C on train_cs + train_mono_es; e trains it on train_cs and replays
# all of stage B's train_mono_es, so the same utterances, with the schedule's weight.
# Shared with ./run.sh: data, token lists, LLM pre-training, statistics, the peer (run here
# when missing). Output: exp/ablation/<system>/, the "Ablation" table of RESULTS.md and
# RESULTS.json (BLEU, chrF, group routing accuracy on the test sets), routing heatmaps
# exp/ablation/<system>/csst_stageC/routing_<test>/routing.png and stage curves
# exp/ablation/<system>/csst_stageC/images/stages.png.
#   local/run_ablation.sh [--systems "a b c d e"] [run.sh options for every run, e.g. --nj 2]
set -euo pipefail
cd "$(dirname "$0")/.."
. ./path.sh
. ./scripts/utils/data_lib.sh

systems="a b c d e"
if [ "${1:-}" = --systems ]; then
    [ $# -ge 2 ] || die "usage: local/run_ablation.sh [--systems \"a b c d e\"] [run.sh options]"
    systems="$2"
    shift 2
fi
run_opts=("$@")
for s in ${systems}; do
    [[ " a b c d e " == *" ${s} "* ]] || die "unknown system '${s}'; the systems are a b c d e"
done
recipe() { ./run.sh "${run_opts[@]}" "$@"; }

linear=conf/tuning/train_csst_linear.yaml
moe=conf/train_csst.yaml
no_aux="--model_conf lang_loss_weight=0 --model_conf balance_loss_weight=0"
test_sets="test_cs test_mono_es"
table="Ablation: MoE projector, its losses, transition loss (local/run_ablation.sh)"
start_all=$(date +%s)

describe() {
    case "$1" in
        a) echo "linear projector, code-switched ST only" ;;
        b) echo "linear projector, A -> B -> C" ;;
        c) echo "MoE, no language/balance loss, A -> B -> C" ;;
        d) echo "MoE + language + balance losses, A -> B -> C" ;;
        e) echo "MoE + losses + transition loss, A -> B -> C" ;;
    esac
}

if [ ! -f exp/llm_pretrain/llm.pth ] || [ ! -f exp/stats_stageC/train/speech_shape ]; then
    log "shared stages 1-6 (data, token lists, LLM pre-training, statistics) -> data/, dump/, exp/"
    recipe --stop_stage 6
else
    # task dirs of the current code (e.g. lang_ali for the routing reports); seconds
    recipe --stage 3 --stop_stage 3
fi
if [ ! -s exp/peer_st/decode_test_st_test_cs/1best_recog/text ]; then
    log "the peer (stages 11-12) -> exp/peer_st"
    recipe --stage 11 --stop_stage 12
fi

# training steps of b's stages A (3 epochs), B (1) and C (2) at batch 12: system a gets as many
steps_of() { awk -v n="$(wc -l < "$1")" -v e="$2" 'BEGIN{printf "%d", e * int((n + 11) / 12)}'; }
steps_b=$(( $(steps_of dump/raw/stageA_train/wav.scp 3) + $(steps_of dump/raw/stageB_train/wav.scp 1) + \
            $(steps_of dump/raw/stageC_train/wav.scp 2) ))

run_system() {  # run_system NAME: train, decode and score one system
    local s="$1" exp="exp/ablation/$1" args=() dump=dump
    mkdir -p "${exp}"
    ln -sfn ../../llm_pretrain "${exp}/llm_pretrain"
    case "${s}" in
        a) dump=dump_cs_only
           args=(--train_config "${linear}" --dumpdir "${dump}" --train_stages C --cs_train_sets train_cs) ;;
        b) args=(--train_config "${linear}") ;;
        c) args=(--train_config "${moe}" --train_args "${no_aux}") ;;
        d) args=(--train_config "${moe}") ;;
        e) dump=dump_replay
           args=(--train_config "${moe}" --dumpdir "${dump}" --cs_train_sets train_cs
                 --replay_ratio_B 0.33 --replay_ratio_C 10) ;;
    esac
    if [ "${dump}" = dump ]; then
        for st in stageA stageB stageC; do ln -sfn "../../stats_${st}" "${exp}/stats_${st}"; done
    else
        log "system ${s}: its own task dirs (replay) and statistics -> ${dump}/, ${exp}/stats_*"
        recipe --expdir "${exp}" "${args[@]}" --stage 2 --stop_stage 3
        recipe --expdir "${exp}" "${args[@]}" --stage 6 --stop_stage 6
    fi
    if [ "${s}" = a ]; then
        epochs_a=$(( steps_b / $(steps_of "${dump}/raw/stageC_train/wav.scp" 1) ))
        args+=(--stageC_args "--max_epoch ${epochs_a}")
    fi
    log "system ${s} ($(describe "${s}")): training and decoding -> ${exp}"
    local t0 t1
    t0=$(date +%s)
    recipe --expdir "${exp}" "${args[@]}" --stage 7 --stop_stage 9
    t1=$(date +%s)
    recipe --expdir "${exp}" "${args[@]}" --asr_decode false --stage 10 --stop_stage 10
    echo "$((t1 - t0))" > "${exp}/train_seconds"
    for t in ${test_sets}; do
        local routing=() raw="${dump}/raw"
        [ -f "${exp}/csst_stageC/routing_${t}/routing.json" ] &&
            routing=(--routing_json "${exp}/csst_stageC/routing_${t}/routing.json")
        python -m espnet_csst.bin.score_results --results_dir . --table "${table}" \
            --system "${s}: $(describe "${s}") ($((t1 - t0)) s training)" --test_set "${t}" --task st \
            --hyp "${exp}/csst_stageC/decode_st_${t}/1best_recog/text" --ref "${raw}/test_st_${t}/text" \
            --decode_dir "${exp}/csst_stageC/decode_st_${t}" "${routing[@]}" \
            --command "local/run_ablation.sh --systems ${s}" > /dev/null
    done
}

for s in ${systems}; do
    run_system "${s}"
done
for t in ${test_sets}; do
    python -m espnet_csst.bin.score_results --results_dir . --table "${table}" \
        --system "peer: ESPnet stock ST" --test_set "${t}" --task st \
        --hyp "exp/peer_st/decode_test_st_${t}/1best_recog/text" --ref "dump/raw/test_st_${t}/text" \
        --decode_dir "exp/peer_st/decode_test_st_${t}" --command "./run.sh --stage 11 --stop_stage 12" \
        --table_note "Systems ${systems} and the peer on the same data; every CSST system starts from exp/llm_pretrain and trains 3/1/2 epochs in stages A/B/C (a: stage C only, on train_cs, for about the ${steps_b} steps of b). route_acc: the MoE group router's argmax against each token's language on the test set (percent; mono: tokens of monolingual utterances, cs: of code-switched ones). Whole ablation: $(( $(date +%s) - start_all )) s on $(nproc) CPU core(s), $(date -u '+%Y-%m-%d')." > /dev/null
done
log "wrote the ablation table into RESULTS.md and RESULTS.json"
