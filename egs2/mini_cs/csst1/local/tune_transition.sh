#!/usr/bin/env bash
# Chooses the transition-loss schedule of stage C (DESIGN.md 3.2) on the dev sets, never on
# test: stages A and B are trained once (MoE projector with its losses; B replays a third of
# stage A's data), then stage C is trained once per variant below, each replaying all of
# stage B's monolingual data in its batches, and every model is decoded on dev_cs and
# dev_mono. The stage-B model is decoded too: what stage C keeps of it.
# Output: exp/tune_transition/<variant>/, the "Dev: transition loss" table of RESULTS.md and
# RESULTS.json, and the variant with the best mean dev BLEU on stdout. A variant whose dev
# decodes exist is only scored again.
# Seeds (--seeds "0 1 2"): stage C of every variant is trained once per seed (csst_train
# --seed; seed 0 in exp/tune_transition/<variant>, seed k in <variant>.seed<k>) from the same
# stage-B model, which every seed shares with stage A, the LLM and the data: the variants differ
# in stage C only, so the spread that matters is stage C's. The table shows mean +- std over the
# seeds and each variant's paired bootstrap test against v0 (constant weight) on the pooled
# seeds; the choice is the best mean dev BLEU over seeds and dev sets. A stopped run resumes:
# finished variant/seeds are rescored, a stage C that was cut off resumes from its checkpoint.
# Every finished variant/seed is recorded in ablation_runs/transition_<variant>/seed<k>/ (and
# the stage-B model's dev decodes in ablation_runs/transition_stageB/seed0/), kept in git: its
# dev hypotheses, routing reports, training seconds, settings and machine
# (scripts/utils/run_record.sh, doc/moe.md). A recorded run is only rescored, in this checkout or
# a fresh one, where nothing is trained when every variant/seed asked for is recorded; one
# recorded with other settings than today's is an error.
# Shared with ./run.sh: data, token lists, the pre-trained LLM, the cached Whisper frames
# (dump/frames) and, when ./run.sh has trained them on the same task data with this config and
# seed 0, its stages A and B and their statistics (exp/csst_stage{A,B}, exp/stats_*): they are
# what the base run would train again. Pass the options ./run.sh was run with, or
# --reuse_recipe_run false to train stages A and B here.
#   local/tune_transition.sh [--variants "v0 v1 ..."] [--seeds "0 1 2"] [--epochs_C 4]
#       [--reuse_recipe_run true|false] [run.sh options, e.g. --nj 2]
set -euo pipefail
cd "$(dirname "$0")/.."
. ./path.sh
. ./scripts/utils/data_lib.sh
. ./scripts/utils/run_record.sh

variants="v0 v1 v2"  # more on request: --variants "v0 v1 v2 v3 v4" (v4, KL to stage B, is slower)
seeds="0"
epochs_C=""  # stage C's epochs; default: as ./run.sh trains it (its --stageC_args)
reuse_recipe_run=true
usage="usage: local/tune_transition.sh [--variants \"v0 v1 ...\"] [--seeds \"0 1 2\"] [--epochs_C N] [--reuse_recipe_run true|false] [run.sh options]"
while [ $# -gt 0 ]; do
    case "$1" in
        --variants) [ $# -ge 2 ] || die "${usage}"; variants="$2"; shift 2 ;;
        --seeds) [ $# -ge 2 ] || die "${usage}"; seeds="$2"; shift 2 ;;
        --epochs_C) [ $# -ge 2 ] || die "${usage}"; epochs_C="$2"; shift 2 ;;
        --reuse_recipe_run) [[ "${2:-}" =~ ^(true|false)$ ]] || die "${usage}"; reuse_recipe_run="$2"; shift 2 ;;
        *) break ;;
    esac
done
run_opts=("$@")
[ -n "${epochs_C}" ] || epochs_C="$(sed -n 's/^ *--stageC_args ".*--max_epoch \([0-9]*\).*" \\$/\1/p' run.sh)"
[[ "${epochs_C}" =~ ^[0-9]+$ ]] || die "no stage-C epochs: give --epochs_C N (run.sh's --stageC_args has no --max_epoch)"
[ -n "${seeds// /}" ] || die "--seeds is empty; ${usage}"
for seed in ${seeds}; do
    [[ "${seed}" =~ ^[0-9]+$ ]] || die "--seeds: '${seed}' is not a non-negative integer; ${usage}"
done

describe() {
    case "$1" in
        v0) echo "replay at constant weight 1 (no decay)" ;;
        v1) echo "cosine 1 -> 0.1 over 150 steps" ;;
        v2) echo "cosine 1 -> 0.3 over 300 steps" ;;
        v3) echo "linear 1 -> 0.1 over 300 steps" ;;
        v4) echo "cosine 1 -> 0.1 over 150 steps + KL 0.5 to stage B" ;;
        *) die "unknown variant '$1'; the variants are v0 v1 v2 v3 v4" ;;
    esac
}
model_conf_of() {  # stage-C csst_train options of a variant
    local m="--model_conf"
    case "$1" in
        v0) echo "$m transition_lambda0=1.0 $m transition_lambda_min=1.0" ;;
        v1) echo "$m transition_lambda0=1.0 $m transition_lambda_min=0.1 $m transition_steps=150 $m transition_schedule=cosine" ;;
        v2) echo "$m transition_lambda0=1.0 $m transition_lambda_min=0.3 $m transition_steps=300 $m transition_schedule=cosine" ;;
        v3) echo "$m transition_lambda0=1.0 $m transition_lambda_min=0.1 $m transition_steps=300 $m transition_schedule=linear" ;;
        v4) echo "$m transition_lambda0=1.0 $m transition_lambda_min=0.1 $m transition_steps=150 $m transition_schedule=cosine $m transition_kl_weight=0.5" ;;
    esac
}
for v in ${variants}; do describe "${v}" > /dev/null; done

config=conf/tuning/train_csst_whisper.yaml
grep -q "^projector: moe" "${config}" || die "${config} is not the MoE model this script tunes"
dump=dump_tune
dev_sets="dev_cs dev_mono"
base=exp/tune_transition/base
table="Dev: transition loss of stage C (local/tune_transition.sh)"
# the replay setting of ./run.sh, spelled out so that a change of the defaults cannot move it
recipe() {
    ./run.sh --train_config "${config}" --dumpdir "${dump}" --frames_dir dump/frames --cs_train_sets train_cs \
        --replay_ratio_B 0.33 --replay_ratio_C 10 --test_sets "${dev_sets}" --asr_decode false \
        "${run_opts[@]}" "$@"
}
link_shared() {  # link_shared EXPDIR NAME...: NAME -> the base run's
    local e="$1" n
    shift
    mkdir -p "${e}"
    for n in "$@"; do ln -sfn "$(readlink -f "${base}/${n}")" "${e}/${n}"; done
}

ensure_base() {  # the LLM, the dev task dirs, and stages A and B once (./run.sh's when it trained them)
    if [ ! -f exp/llm_pretrain/llm.pth ]; then
        log "the pre-trained LLM is missing: shared stages 1-5 -> data/, dump/, exp/llm_pretrain"
        ./run.sh "${run_opts[@]}" --stop_stage 5
    fi
    mkdir -p "${base}"
    ln -sfn "$(readlink -f exp/llm_pretrain)" "${base}/llm_pretrain"
    [ ! -f "${base}/csst_stageB/valid.acc.best.pth" ] || return 0
    log "dev task dirs -> ${dump}/"
    recipe --expdir "${base}" --stage 2 --stop_stage 3
    if recipe_trained_AB; then
        log "./run.sh trained stages A and B on the same data with ${config}: exp/csst_stage{A,B} and" \
            "exp/stats_* -> ${base} (--reuse_recipe_run false trains them here)"
        for st in stats_stageA stats_stageB stats_stageC csst_stageA csst_stageB; do
            ln -sfn "$(readlink -f "exp/${st}")" "${base}/${st}"
        done
    else
        log "statistics, stages A and B once -> ${base}"
        recipe --expdir "${base}" --stage 6 --stop_stage 9
    fi
}
# ./run.sh's stages A and B are the base run's when they were trained with this config and seed
# on the same task dirs (the replayed utterances included): compared file by file
recipe_trained_AB() {
    local st
    [ "${reuse_recipe_run}" = true ] && [ -f exp/csst_stageB/valid.acc.best.pth ] &&
        [ -f exp/stats_stageC/train/speech_shape ] || return 1
    for st in stageA stageB; do
        grep -qx "config: ${config}" "exp/csst_${st}/config.yaml" && grep -qx "seed: 0" "exp/csst_${st}/config.yaml" ||
            return 1
    done
    same_task_data dump "${dump}" stageA_train stageA_valid stageB_train stageB_valid stageC_train stageC_valid
}

# The record (scripts/utils/run_record.sh): ablation_runs/transition_<variant>/seed<k>/
runs_dir=ablation_runs
settings_of() {  # settings_of VARIANT SEED: what the run's dev scores depend on, a line each
    echo "variant: $1"
    echo "seed: $2"
    echo "stage C: --max_epoch ${epochs_C} $(model_conf_of "$1")"
    echo "options given to tune_transition.sh: ${run_opts[*]}"
    record_sha256 "${config}" conf/decode_csst.yaml
    record_recipe_call_sha256
}
record_decodes() {  # record_decodes NAME SEED MODEL_DIR SETTINGS [TRAIN_SECONDS_FILE]: keep a run's dev decodes
    local dir tmp t
    dir="$(record_dir "${runs_dir}" "$1" "$2")"
    tmp="$(record_begin "${dir}")"
    mkdir -p "${tmp}/hyp"
    for t in ${dev_sets}; do
        record_keep_ref "${runs_dir}" "${t}" "${dump}/raw/test_st_${t}/text"
        cp "$3/decode_st_${t}/1best_recog/text" "${tmp}/hyp/${t}"
        [ ! -f "$3/routing_${t}/routing.json" ] || cp "$3/routing_${t}/routing.json" "${tmp}/routing_${t}.json"
    done
    [ -z "${5:-}" ] || cp "$5" "${tmp}/train_seconds"
    record_finish "${dir}" "$4"
}
score_dev() {  # score_dev SYSTEM RECORD_DIR [score_results options: --seed, --baseline]
    local t routing system="$1" dir="$2"
    shift 2
    for t in ${dev_sets}; do
        routing=()
        [ -f "${dir}/routing_${t}.json" ] && routing=(--routing_json "${dir}/routing_${t}.json")
        python -m espnet_csst.bin.score_results --results_dir . --table "${table}" --system "${system}" \
            --test_set "${t}" --task st --hyp "${dir}/hyp/${t}" --ref "${runs_dir}/refs/${t}" \
            --decode_dir "${dir}" "${routing[@]}" \
            --command "local/tune_transition.sh --seeds \"${seeds}\"" "$@" > /dev/null
    done
}
label() { echo "$1: $(describe "$1")"; }
decoded() { local t; for t in ${dev_sets}; do [ -s "$1/decode_st_${t}/1best_recog/text" ] || return 1; done; }

stageB_record="$(record_dir "${runs_dir}" transition_stageB 0)"
stageB_settings="$(settings_of stageB 0 | grep -v '^stage C: ')"
for seed in ${seeds}; do
    for v in ${variants}; do
        exp="exp/tune_transition/${v}"
        [ "${seed}" -eq 0 ] || exp+=".seed${seed}"
        record="$(record_dir "${runs_dir}" "transition_${v}" "${seed}")"
        if [ -d "${record}" ]; then
            record_check_settings "${record}" "$(settings_of "${v}" "${seed}")"
            record_log "${record}"
        else
            ensure_base
            link_shared "${exp}" llm_pretrain stats_stageA stats_stageB stats_stageC csst_stageA csst_stageB
            if ! decoded "${exp}/csst_stageC"; then
                log "variant ${v} ($(describe "${v}")), seed ${seed}: stage C and dev decoding -> ${exp}"
                t0=$(date +%s)
                recipe --expdir "${exp}" --stage 10 --stop_stage 10 --train_args "--seed ${seed}" \
                    --stageC_args "--max_epoch ${epochs_C} $(model_conf_of "${v}")"
                echo "$(( $(date +%s) - t0 ))" > "${exp}/train_seconds"
                # the stage-B model once, beside the first variant
                recipe --expdir "${exp}" --stage 11 --stop_stage 11 \
                    --stageB_decode "$(decoded "${base}/csst_stageB" && echo false || echo true)"
            fi
            record_decodes "transition_${v}" "${seed}" "${exp}/csst_stageC" "$(settings_of "${v}" "${seed}")" \
                "${exp}/train_seconds"
        fi
        if [ ! -d "${stageB_record}" ] && decoded "${base}/csst_stageB"; then
            record_decodes transition_stageB 0 "${base}/csst_stageB" "${stageB_settings}"
        fi
        baseline=()
        [ "${v}" = v0 ] || baseline=(--baseline "$(label v0)")
        score_dev "$(label "${v}")" "${record}" --seed "${seed}" "${baseline[@]}"
    done
done
if [ -d "${stageB_record}" ]; then
    record_check_settings "${stageB_record}" "${stageB_settings}"
    score_dev "stage B model (before stage C)" "${stageB_record}"
fi

# the choice: the best mean BLEU over the dev sets
python - "${table}" ${variants} <<'EOF'
import json, sys
table, variants = sys.argv[1], sys.argv[2:]
rows = [r for r in json.load(open("RESULTS.json", encoding="utf-8"))["rows"]
        if r.get("table") == table and r["metric"] == "BLEU"]
mean = {}
for v in variants:
    scores = [r["value"] for r in rows if r["system"].startswith(f"{v}:")]
    mean[v] = sum(scores) / len(scores)
for v in variants:
    print(f"{v}: mean dev BLEU {mean[v]:.2f}")
print(f"best on dev: {max(mean, key=mean.get)}")
EOF
log "wrote the dev table into RESULTS.md and RESULTS.json"
