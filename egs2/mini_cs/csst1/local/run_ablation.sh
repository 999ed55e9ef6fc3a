#!/usr/bin/env bash
# Ablation of the language-group MoE projector, its losses and the transition loss
# (DESIGN.md 3.1-3.2) on the mini corpus. Every system trains on the same speech for the
# same number of epochs per stage from the same pre-trained LLM; the table reports each one's
# training time.
#   a  linear projector, code-switched ST only (stage C alone, as many steps as A+B+C of b)
#   b  linear projector, stages A -> B -> C
#   c  MoE projector without the language and balance losses, A -> B -> C
#   d  MoE with both losses, A -> B -> C
#   e  (d) + the transition loss: B and C replay the previous stage's data, weighted by lambda(t);
#      this is ./run.sh's default, so the recipe's own exp/csst_stage{A,B,C} are used when present
#   peer: ESPnet's stock ST model (stages 12-13 of the recipe)
# and, in a second table, the inner-layer OT alignment loss (AI-STA, DESIGN.md 3.3) on top of e
# (which has none), each from e's stage A and trained through stages 8-10 like e:
#   ot_sel   OT at the layers stage 8 selects by speech->text retrieval (--use_ot_align true)
#   ot_last  OT at the LLM's last layer only
#   ot_all   OT at every LLM layer
# Its rows also hold dev_cs/dev_mono (to choose settings on) and, at the selected layers,
# the retrieval MRR after training and the mean OT distance before (stage A) and after.
# Systems b-d train stage C on train_cs + train_mono_es at full weight (dump_noreplay/); e
# trains it on train_cs and replays all of stage B's train_mono_es, so the same utterances,
# with the schedule's weight (dump/). Shared with ./run.sh: data, token lists, LLM
# pre-training, the peer (run here when missing). For e the table also shows its stage-B
# model on test_mono_es: what stage C keeps of it. Output: exp/ablation/<system>/, the "Ablation" table of RESULTS.md and
# RESULTS.json (BLEU, chrF, group routing accuracy on the test sets), routing heatmaps
# exp/ablation/<system>/csst_stageC/routing_<test>/routing.png and stage curves
# exp/ablation/<system>/csst_stageC/images/stages.png.
# Seeds (--seeds "0 1 2"): every system is trained once per seed (csst_train --seed) and each
# run is scored as its own row; the tables show mean +- std over the seeds and, for each system,
# sacrebleu's paired bootstrap test against its baseline (a, c and e against b, d against c, the
# OT systems against ot_none) on the seeds' pooled hypotheses (espnet_csst/scoring/significance.py).
# Shared by every system and seed: data, the cached Whisper frames (dump/frames), token lists,
# the pre-trained LLM and the peer (one run); by the seeds of a system: its statistics.
# Not shared: every trained stage (A, B, C), except
# that d and e, which differ from stage B on, train one stage A per seed (the same config, data
# and seed; ./run.sh's for seed 0 when it trained e), and the OT systems start from it too. Seed 0 lives in
# exp/ablation/<system>, seed k in exp/ablation/<system>.seed<k>. A finished system/seed (its
# "decoded" marker) is only rescored on a rerun; one stopped mid-way resumes: each trained stage
# resumes from its checkpoint (--resume true) and a finished stage is not trained again.
# The record of finished runs, ablation_runs/<system>/seed<k>/ (kept in git with RESULTS.json):
# exp/ and dump/ live as long as the checkout, the whole ablation takes longer than a working
# session, and the paired test rereads every seed's hypotheses. So each finished system/seed
# leaves there what its rows are scored from: its hypotheses on the test and dev sets, its
# routing and layer metrics, its training seconds, the settings it ran with and the machine
# (ablation_runs/refs/ holds the references, the same for every run). A run found there is
# not trained again, even in a fresh checkout; one whose settings differ from today's is an
# error (move its folder away to train it again). Its models are not kept: the OT systems need
# e's stage A, which is trained again (with its seed) when e's run is recorded but exp/ is new.
#   local/run_ablation.sh [--systems "a b c d e ot_sel ot_last ot_all"] [--seeds "0 1 2"] [--peer true|false] [run.sh options, e.g. --nj 2]
set -euo pipefail
cd "$(dirname "$0")/.."
. ./path.sh
. ./scripts/utils/data_lib.sh
. ./scripts/utils/run_record.sh

all_systems="a b c d e ot_sel ot_last ot_all"
systems="${all_systems}"
seeds="0"
peer=true  # train and score the peer (stages 12-13) when it is missing
usage="usage: local/run_ablation.sh [--systems \"${all_systems}\"] [--seeds \"0 1 2\"] [--peer true|false] [run.sh options]"
while [ $# -gt 0 ]; do
    case "$1" in
        --systems) [ $# -ge 2 ] || die "${usage}"; systems="$2"; shift 2 ;;
        --seeds) [ $# -ge 2 ] || die "${usage}"; seeds="$2"; shift 2 ;;
        --peer) [ $# -ge 2 ] && [[ "$2" =~ ^(true|false)$ ]] || die "--peer takes true or false; ${usage}"
                peer="$2"; shift 2 ;;
        *) break ;;
    esac
done
run_opts=("$@")
[ -n "${seeds// /}" ] || die "--seeds is empty; ${usage}"
for seed in ${seeds}; do
    [[ "${seed}" =~ ^[0-9]+$ ]] || die "--seeds: '${seed}' is not a non-negative integer; ${usage}"
done
moe_systems="" ot_systems=""
for s in ${systems}; do
    [[ " ${all_systems} " == *" ${s} "* ]] || die "unknown system '${s}'; the systems are ${all_systems}"
    if [[ "${s}" == ot_* ]]; then ot_systems+=" ${s}"; else moe_systems+=" ${s}"; fi
done
# the OT systems start from e's stage A
[ -z "${ot_systems}" ] || [[ " ${moe_systems} " == *" e "* ]] || moe_systems+=" e"
# every dump dir reads the one cache of Whisper frames (keyed by the audio): each recording once
recipe() { ./run.sh --frames_dir dump/frames "${run_opts[@]}" "$@"; }

linear=conf/tuning/train_csst_whisper_linear.yaml
moe=conf/tuning/train_csst_whisper.yaml
no_aux="--model_conf lang_loss_weight=0 --model_conf balance_loss_weight=0"
# e's stage C as in ./run.sh: the transition schedule chosen on dev (local/tune_transition.sh)
stageC_args_e="$(sed -n 's/^ *--stageC_args "\(.*\)" \\$/\1/p' run.sh)"
test_sets="test_cs test_mono_es"
table="Ablation: MoE projector, its losses, transition loss (local/run_ablation.sh)"
start_all=$(date +%s)
runs_dir=ablation_runs  # the record of finished runs (see the top)

describe() {
    case "$1" in
        a) echo "linear projector, code-switched ST only" ;;
        b) echo "linear projector, A -> B -> C" ;;
        c) echo "MoE, no language/balance loss, A -> B -> C" ;;
        d) echo "MoE + language + balance losses, A -> B -> C" ;;
        e) echo "MoE + losses + transition loss, A -> B -> C" ;;
        ot_none) echo "e: no OT alignment" ;;
        ot_sel) echo "e + OT at the layers stage 8 selects" ;;
        ot_last) echo "e + OT at the last LLM layer" ;;
        ot_all) echo "e + OT at every LLM layer" ;;
    esac
}
label() { echo "$1: $(describe "$1")"; }  # the system's name in the tables (the same for every seed)
baseline_of() {  # the system each one is tested against (paired bootstrap over seeds)
    case "$1" in
        a|c|e) label b ;;
        d) label c ;;
        ot_sel|ot_last|ot_all) label ot_none ;;
    esac
}
exp_of() {  # exp_of SYSTEM SEED
    if [ "$2" -eq 0 ]; then echo "exp/ablation/$1"; else echo "exp/ablation/$1.seed$2"; fi
}
score() {  # score SYSTEM SEED score_results-options...: one seeded run's rows
    local s="$1" seed="$2" b
    shift 2
    b="$(baseline_of "${s}")"
    python -m espnet_csst.bin.score_results --results_dir . --seed "${seed}" ${b:+--baseline "${b}"} "$@" > /dev/null
}

# what is to train: the systems/seeds not in the record (ablation_runs/, below); with none, only rescoring
to_train=""
for seed in ${seeds}; do
    for s in ${moe_systems} ${ot_systems}; do
        [ -d "${runs_dir}/${s}/seed${seed}" ] || to_train+=" ${s}/${seed}"
    done
done
[ -n "${to_train}" ] || log "every system/seed asked for is recorded in ${runs_dir}/: rescoring only"
if [ -n "${to_train}" ] && { [ ! -f exp/llm_pretrain/llm.pth ] || [ ! -f exp/stats_stageC/train/speech_shape ]; }; then
    log "shared stages 1-6 (data, token lists, LLM pre-training, statistics) -> data/, dump/, exp/"
    recipe --stop_stage 6
fi
if [ -n "${to_train}" ] && [ "${peer}" = true ] && [ ! -s exp/peer_st/decode_test_st_test_cs/1best_recog/text ]; then
    log "the peer (stages 12-13) -> exp/peer_st"
    recipe --stage 12 --stop_stage 13
fi

# the epochs of ./run.sh's stages: its --stage<X>_args, or those among the options given here
epochs_of() {  # epochs_of A|B|C
    local args i
    args="$(sed -n "s/^ *--stage$1_args \"\(.*\)\" \\\\$/\1/p" run.sh)"
    for ((i = 0; i + 1 < ${#run_opts[@]}; i++)); do
        [ "${run_opts[i]}" != "--stage$1_args" ] || args="${run_opts[i + 1]}"
    done
    sed -n 's/.*--max_epoch \([0-9]*\).*/\1/p' <<< "${args}"
}
epochs="$(epochs_of A)/$(epochs_of B)/$(epochs_of C)"
[[ "${epochs}" =~ ^[0-9]+/[0-9]+/[0-9]+$ ]] || die "no --max_epoch in run.sh's --stageA_args/--stageB_args/--stageC_args"
# training steps of b's stages A, B and C at batch 12: system a gets as many
steps_of() { awk -v n="$(wc -l < "$1")" -v e="$2" 'BEGIN{printf "%d", e * int((n + 11) / 12)}'; }
steps_of_b() {
    local d=dump_noreplay/raw
    [ -f "${d}/stageC_train/wav.scp" ] || recipe --dumpdir dump_noreplay --expdir exp/ablation/b \
        --cs_train_sets "train_cs train_mono_es" --replay_ratio_B 0 --replay_ratio_C 0 --stage 2 --stop_stage 3 >&2
    echo $(( $(steps_of "${d}/stageA_train/wav.scp" "$(epochs_of A)") + \
             $(steps_of "${d}/stageB_train/wav.scp" "$(epochs_of B)") + \
             $(steps_of "${d}/stageC_train/wav.scp" "$(epochs_of C)") ))
}
steps_b=""

# e is the recipe's default: its models are those of ./run.sh when that has trained them
recipe_is_e() {
    [ -f exp/csst_stageC/valid.acc.best.pth ] && [ -f dump/raw/stageC_train/replay ] &&
        grep -q "^projector: moe" exp/csst_stageC/config.yaml &&
        [ -s exp/csst_stageB/decode_st_test_mono_es/1best_recog/text ] &&
        [ -s exp/csst_stageC/routing_test_cs/routing.json ]
}
reuse_recipe_run() {  # reuse_recipe_run EXPDIR: link ./run.sh's models; their training time
    local st
    for st in stageA stageB stageC; do ln -sfn "../../csst_${st}" "$1/csst_${st}"; done
    awk -F'\t' '$1 >= 7 && $1 <= 10 {s += $3} END {printf "%d", s}' exp/stage_times.tsv > "$1/train_seconds"
}

# d and e differ from stage B on (e replays, d does not): their stage A is one model per seed,
# trained by whichever of them comes first (./run.sh's for seed 0 when it trained e), provided
# the two dump dirs hold the same stage-A data (same_task_data, scripts/utils/data_lib.sh)
stage_a_of_partner() {  # stage_a_of_partner SYSTEM SEED DUMP: "<its seconds> <its csst_stageA dir>", or nothing
    local other dir secs=""
    case "$1" in d) other=e ;; e) other=d ;; *) return 0 ;; esac
    dir="$(exp_of "${other}" "$2")"
    if [ -s "${dir}/stageA_seconds" ] && [ -f "${dir}/csst_stageA/valid.acc.best.pth" ]; then
        secs="$(cat "${dir}/stageA_seconds")"
    elif [ "${other}" = e ] && [ "$2" -eq 0 ] && recipe_is_e; then
        dir=exp
        secs="$(awk -F'\t' '$1 == 7 {printf "%d", $3}' exp/stage_times.tsv)"
    fi
    local partner_dump=dump
    [ "${other}" = e ] || partner_dump=dump_noreplay
    [ -n "${secs}" ] && [ -f "${dir}/csst_stageA/valid.acc.best.pth" ] && same_task_data "$3" "${partner_dump}" stageA_train stageA_valid &&
        echo "${secs} $(readlink -f "${dir}/csst_stageA")"
    return 0
}

dev_sets="dev_cs dev_mono"
# The record of finished runs (see the top; scripts/utils/run_record.sh)
run_dir_of() { record_dir "${runs_dir}" "$1" "$2"; }
run_is_recorded() { [ -d "$(run_dir_of "$1" "$2")" ]; }
settings_of() {  # settings_of SYSTEM SEED OPTIONS...: what the run's scores depend on, a line each
    echo "system: $1"
    echo "seed: $2"
    shift 2
    echo "run.sh options: $*"
    echo "options given to run_ablation.sh: ${run_opts[*]}"
    record_sha256 "${moe}" "${linear}" conf/decode_csst.yaml
    record_recipe_call_sha256
}
check_settings() {  # check_settings SYSTEM SEED OPTIONS...: stop if the recorded run had other settings
    record_check_settings "$(run_dir_of "$1" "$2")" "$(settings_of "$@")"
}
record_run() {  # record_run SYSTEM SEED EXP DUMP OPTIONS...: keep what the run's rows are scored from
    local s="$1" seed="$2" exp="$3" raw="$4/raw" dir tmp t
    shift 4
    dir="$(run_dir_of "${s}" "${seed}")"
    tmp="$(record_begin "${dir}")"
    mkdir -p "${tmp}/hyp"
    for t in ${test_sets} ${dev_sets}; do
        record_keep_ref "${runs_dir}" "${t}" "${raw}/test_st_${t}/text"
        cp "${exp}/csst_stageC/decode_st_${t}/1best_recog/text" "${tmp}/hyp/${t}"
        [ ! -f "${exp}/csst_stageC/routing_${t}/routing.json" ] ||
            cp "${exp}/csst_stageC/routing_${t}/routing.json" "${tmp}/routing_${t}.json"
    done
    if [ "${s}" = e ]; then  # its stage-B model on test_mono_es, and its layer metrics (ot_none's)
        mkdir -p "${tmp}/hyp_stageB"
        cp "${exp}/csst_stageB/decode_st_test_mono_es/1best_recog/text" "${tmp}/hyp_stageB/test_mono_es"
    fi
    [ ! -f "${exp}/align_after/layers.json" ] || cp "${exp}/align_after/layers.json" "${tmp}/align_after.json"
    [ ! -f "${exp}/align_layers/layers.json" ] || cp "${exp}/align_layers/layers.json" "${tmp}/align_before.json"
    cp "${exp}/train_seconds" "${tmp}/train_seconds"
    record_finish "${dir}" "$(settings_of "${s}" "${seed}" "$@")"
}
decode_dev_sets() {  # decode_dev_sets EXP DUMP OPTIONS...: the dev-set decodes of a trained system, when missing
    local exp="$1" dump="$2" t need=""
    shift 2
    for t in ${dev_sets}; do [ -s "${exp}/csst_stageC/decode_st_${t}/1best_recog/text" ] || need=1; done
    [ -n "${need}" ] || return 0
    # prepare_system makes the dev task dirs; stage 3 again (a dump made without them) remakes the
    # training dirs too, whose frames the next training stage then takes from the cache again
    [ -s "${dump}/raw/test_st_dev_cs/text" ] && [ -s "${dump}/raw/test_st_dev_mono/text" ] ||
        recipe --expdir "${exp}" "$@" --test_sets "${dev_sets}" --stage 3 --stop_stage 3
    recipe --expdir "${exp}" "$@" --test_sets "${dev_sets}" --asr_decode false --stageB_decode false \
        --stage 11 --stop_stage 11
}

system_options() {  # system_options NAME SEED: set the caller's args and dump for ./run.sh
    local train_extra=""
    dump=dump_noreplay
    # b-d: stage C on code-switched + monolingual data, nothing replayed or down-weighted
    local full=(--cs_train_sets "train_cs train_mono_es" --replay_ratio_B 0 --replay_ratio_C 0)
    case "${s}" in
        a) dump=dump_cs_only
           args=(--train_config "${linear}" --train_stages C --cs_train_sets train_cs --replay_ratio_C 0) ;;
        b) args=(--train_config "${linear}" "${full[@]}") ;;
        c) args=(--train_config "${moe}" "${full[@]}"); train_extra="${no_aux}" ;;
        d) args=(--train_config "${moe}" "${full[@]}") ;;
        e) dump=dump
           args=(--train_config "${moe}" --cs_train_sets train_cs --replay_ratio_B 0.33 --replay_ratio_C 10
                 --stageC_args "${stageC_args_e}") ;;
    esac
    args+=(--dumpdir "${dump}" --train_args "--seed $2 ${train_extra}")
}

prepare_system() {  # prepare_system NAME SEED: its task dirs and statistics (seed 0's for the other seeds)
    local s="$1" seed="$2" first_exp st
    first_exp="$(exp_of "${s}" 0)"
    if [ "${seed}" -ne 0 ] && [ -f "${first_exp}/stats_stageC/train/speech_shape" ] &&
           [ ! -f "${exp}/stats_stageC/train/speech_shape" ]; then
        # the statistics depend on the data only: every seed reads seed 0's
        for st in stats_stageA stats_stageB stats_stageC; do ln -sfn "../${first_exp##*/}/${st}" "${exp}/${st}"; done
    fi
    if [ ! -f "${exp}/stats_stageC/train/speech_shape" ]; then
        log "system ${s}: its task dirs and statistics -> ${dump}/, ${exp}/stats_*"
        [ -f "${dump}/raw/stageC_current/wav.scp" ] || recipe --expdir "${exp}" "${args[@]}" --stage 2 --stop_stage 2
        recipe --expdir "${exp}" "${args[@]}" --test_sets "${test_sets} ${dev_sets}" --stage 3 --stop_stage 3
        recipe --expdir "${exp}" "${args[@]}" --stage 6 --stop_stage 6
    fi
}

run_system() {  # run_system NAME SEED: train, decode, record and score one system with one seed
    local s="$1" seed="$2" exp args=() dump command settings=()
    exp="$(exp_of "$1" "$2")"
    system_options "${s}" "${seed}"
    settings=("${args[@]}")  # a's stage-C epochs follow from these and b's data
    command="local/run_ablation.sh --systems ${s} --seeds \"${seeds}\""
    [ "${s}" != e ] || [ "${seed}" -ne 0 ] ||
        command="./run.sh  # the recipe's default (seed 0); other seeds: local/run_ablation.sh --systems e --seeds ..."
    if run_is_recorded "${s}" "${seed}"; then
        check_settings "${s}" "${seed}" "${settings[@]}"
        record_log "$(run_dir_of "${s}" "${seed}")"
    else
        train_system "${s}" "${seed}"
        decode_dev_sets "${exp}" "${dump}" "${args[@]}"
        [ "${s}" != e ] || align_after "${exp}"  # e is ot_none of the OT table
        record_run "${s}" "${seed}" "${exp}" "${dump}" "${settings[@]}"
    fi
    score_recorded_run "${s}" "${seed}" "${table}" "${command}"
    if [ "${s}" = e ]; then  # the target: e keeps stage B's monolingual quality
        local dir
        dir="$(run_dir_of e "${seed}")"
        python -m espnet_csst.bin.score_results --results_dir . --table "${table}" --seed "${seed}" \
            --system "e (stage B): its model before code-switched training" --test_set test_mono_es --task st \
            --hyp "${dir}/hyp_stageB/test_mono_es" --ref "${runs_dir}/refs/test_mono_es" \
            --decode_dir "${dir}" --command "${command}" > /dev/null
    fi
}
score_recorded_run() {  # score_recorded_run NAME SEED TABLE COMMAND [RECORDED_AS]: a recorded run's rows, test and dev
    local s="$1" seed="$2" dir t extra
    dir="$(run_dir_of "${5:-$1}" "$2")"
    for t in ${test_sets} ${dev_sets}; do
        extra=()
        [ ! -f "${dir}/routing_${t}.json" ] || extra=(--routing_json "${dir}/routing_${t}.json")
        if [ "$3" = "${ot_table}" ]; then
            extra+=(--align_json "${dir}/align_after.json" --align_before_json "$(align_before_of "${seed}")")
        fi
        score "${s}" "${seed}" --table "$3" --system "$(label "${s}")" --test_set "${t}" --task st \
            --hyp "${dir}/hyp/${t}" --ref "${runs_dir}/refs/${t}" --decode_dir "${dir}" "${extra[@]}" --command "$4"
    done
    training_seconds[${s}]+="${training_seconds[${s}]:+/}$(cat "${dir}/train_seconds")"
}

train_system() {  # train_system NAME SEED: stages 7-11 into exp (the caller's exp, args and dump)
    local s="$1" seed="$2"
    mkdir -p "${exp}"
    ln -sfn ../../llm_pretrain "${exp}/llm_pretrain"
    if [ -f "${exp}/decoded" ]; then
        log "system ${s}, seed ${seed}: trained and decoded before (${exp}/decoded)"
    elif [ "${s}" = e ] && [ "${seed}" -eq 0 ] && recipe_is_e; then
        log "system e ($(describe e)) is ./run.sh's default: its models exp/csst_stage{A,B,C} -> ${exp}"
        reuse_recipe_run "${exp}"
        touch "${exp}/decoded"
    else
        prepare_system "${s}" "${seed}"
        if [ "${s}" = a ]; then
            steps_b="$(steps_of_b)"
            epochs_a=$(( steps_b / $(steps_of "${dump}/raw/stageC_train/wav.scp" 1) ))
            args+=(--stageC_args "--max_epoch ${epochs_a}")
        fi
        local t0 t1 first_stage=7 shared_a="" shared_secs=0
        [ -e "${exp}/csst_stageA" ] || read -r shared_secs shared_a <<< "$(stage_a_of_partner "${s}" "${seed}" "${dump}")"
        if [ -n "${shared_a}" ]; then
            log "system ${s}, seed ${seed}: stage A is the one trained for $([ "${s}" = d ] && echo e || echo d) (${shared_a})"
            ln -sfn "${shared_a}" "${exp}/csst_stageA"
            echo "${shared_secs}" > "${exp}/stageA_seconds"
        fi
        if [ -L "${exp}/csst_stageA" ]; then  # shared now or before this run was stopped
            first_stage=8
            shared_secs="$(cat "${exp}/stageA_seconds")"
        fi
        log "system ${s} ($(describe "${s}")), seed ${seed}: training (stages ${first_stage}-10) and decoding -> ${exp}"
        t0=$(date +%s)
        recipe --expdir "${exp}" "${args[@]}" --stage "${first_stage}" --stop_stage 10
        t1=$(date +%s)
        # a shared stage A counts in both systems' training time
        echo "$((t1 - t0 + shared_secs))" > "${exp}/train_seconds"
        recipe --expdir "${exp}" "${args[@]}" --asr_decode false --stageB_decode "$([ "${s}" = e ] && echo true || echo false)" \
            --stage 11 --stop_stage 11
        touch "${exp}/decoded"
    fi
    local times="${exp}/stage_times.tsv"
    [ -L "${exp}/csst_stageC" ] && times=exp/stage_times.tsv
    [ -s "${exp}/stageA_seconds" ] ||  # the OT systems share e's stage A
        awk -F'\t' '$1 == 7 {printf "%d", $3}' "${times}" > "${exp}/stageA_seconds"
}
declare -A training_seconds=()  # per system: each seed's training seconds, for the table notes
seconds_note() {  # seconds_note SYSTEM...: "a 1018/990 s, b ..." over the systems run now
    local s out=""
    for s in "$@"; do [ -z "${training_seconds[${s}]:-}" ] || out+="${out:+, }${s} ${training_seconds[${s}]} s"; done
    echo "${out}"
}

ot_table="Ablation: inner-layer OT alignment, AI-STA (local/run_ablation.sh)"
n_layers="$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["llm_conf"]["config"]["num_hidden_layers"])' "${moe}")"
align_after() {  # align_after EXP: the layer metrics of EXP's stage-C model on stage 8's data
    local out="$1/align_after"
    [ -f "${out}/layers.json" ] || python -m espnet_csst.bin.select_align_layers \
        --csst_train_config "$1/csst_stageC/config.yaml" --csst_model_file "$1/csst_stageC/valid.acc.best.pth" \
        --data_dir dump/raw/stageB_valid --output_dir "${out}" > "${out}.log" 2>&1 ||
        { tail -n 20 "${out}.log"; die "select_align_layers failed; see ${out}.log"; }
}
align_before_of() {  # align_before_of SEED: stage 8's layer metrics with the stage-A model (the first OT system's)
    local s
    for s in ${ot_systems} ot_sel ot_last ot_all; do
        [ ! -f "$(run_dir_of "${s}" "$1")/align_before.json" ] || { echo "$(run_dir_of "${s}" "$1")/align_before.json"; return 0; }
    done
    die "no OT system of seed $1 is recorded: ot_none's layer metrics need one's stage 8"
}
stage_a_of_e() {  # stage_a_of_e SEED: e's stage-A model, which the OT systems start from
    local e t0 exp args=() dump
    e="$(exp_of e "$1")"
    [ ! -f "${e}/csst_stageA/valid.acc.best.pth" ] || return 0
    exp="${e}"
    system_options e "$1"
    mkdir -p "${exp}"
    ln -sfn ../../llm_pretrain "${exp}/llm_pretrain"
    prepare_system e "$1"
    log "system e, seed $1: its run is recorded but this checkout lacks its models; training its stage A" \
        "again for the OT systems -> ${exp}/csst_stageA"
    t0=$(date +%s)
    recipe --expdir "${exp}" "${args[@]}" --stage 7 --stop_stage 7
    echo "$(( $(date +%s) - t0 ))" > "${exp}/stageA_seconds"
}
run_ot_system() {  # run_ot_system NAME SEED: e + the OT loss, stages 8-10 from e's stage A; decode; record; score
    local s="$1" seed="$2" exp e st
    exp="$(exp_of "$1" "$2")"
    e="$(exp_of e "$2")"
    local args=(--train_config "${moe}" --cs_train_sets train_cs --replay_ratio_B 0.33 --replay_ratio_C 10
                --stageC_args "${stageC_args_e}" --use_ot_align true --test_sets "${test_sets} ${dev_sets}"
                --train_args "--seed ${seed}")
    case "${s}" in
        ot_last) args+=(--ot_layers "[${n_layers}]") ;;
        ot_all) args+=(--ot_layers "[$(seq -s, 1 "${n_layers}")]") ;;
    esac
    if run_is_recorded "${s}" "${seed}"; then
        check_settings "${s}" "${seed}" "${args[@]}"
        record_log "$(run_dir_of "${s}" "${seed}")"
    else
        stage_a_of_e "${seed}"
        mkdir -p "${exp}"
        for st in llm_pretrain stats_stageA stats_stageB stats_stageC; do ln -sfn "../../${st}" "${exp}/${st}"; done
        ln -sfn "$(readlink -f "${e}/csst_stageA")" "${exp}/csst_stageA"
        if [ -f "${exp}/decoded" ]; then
            log "system ${s}, seed ${seed}: trained and decoded before (${exp}/decoded)"
        else
            log "system ${s} ($(describe "${s}")), seed ${seed}: stages 8-10 from e's stage A, decoding -> ${exp}"
            local t0 t1
            t0=$(date +%s)
            recipe --expdir "${exp}" "${args[@]}" --stage 8 --stop_stage 10
            t1=$(date +%s)
            echo "$(( t1 - t0 + $(cat "${e}/stageA_seconds") ))" > "${exp}/train_seconds"
            recipe --expdir "${exp}" "${args[@]}" --asr_decode false --stageB_decode false --stage 11 --stop_stage 11
            touch "${exp}/decoded"
        fi
        align_after "${exp}"
        record_run "${s}" "${seed}" "${exp}" dump "${args[@]}"
    fi
    score_recorded_run "${s}" "${seed}" "${ot_table}" "local/run_ablation.sh --systems ${s} --seeds \"${seeds}\""
}

# seed by seed, so that a stopped run has its first seeds complete
for seed in ${seeds}; do
    for s in ${moe_systems}; do
        run_system "${s}" "${seed}"
    done
    [ -n "${ot_systems}" ] || continue
    for s in ${ot_systems}; do run_ot_system "${s}" "${seed}"; done
    # e is the system without OT: its recorded dev decodes and layer metrics
    score_recorded_run ot_none "${seed}" "${ot_table}" "local/run_ablation.sh --systems e --seeds \"${seeds}\"" e
done
record_note="Each run's hypotheses, routing, layer metrics, settings and machine: ${runs_dir}/<system>/seed<k>/ (kept in git; a recorded run is only rescored)."
if [ -n "${ot_systems}" ]; then
    first="$(echo ${ot_systems} | cut -d' ' -f1)"
    python -m espnet_csst.bin.score_results --results_dir . --render_only --table "${ot_table}" \
        --table_note "Seeds ${seeds}; training seconds per seed: $(seconds_note ${ot_systems} ot_none). The OT systems train like e (MoE + losses + transition loss) with the OT loss (weight 0.5, eps 0.1, text side detached) added in stages B and C; they start from e's stage A of the same seed (its time is included in theirs). Layers: hidden-state index, 0 the embeddings, 1-${n_layers} the LLM blocks. MRR_sel: speech->text retrieval MRR on dump/raw/stageB_valid at the layers stage 8 selected with the stage-A model (${runs_dir}/${first}/seed<k>/align_before.json); OT_sel_before/after: the mean OT distance there with the stage-A model and with the trained stage-C model. Choose on dev_cs/dev_mono. ${record_note}" > /dev/null
fi
if [ -s exp/peer_st/decode_test_st_test_cs/1best_recog/text ]; then
    for t in ${test_sets}; do
        python -m espnet_csst.bin.score_results --results_dir . --table "${table}" \
            --system "peer: ESPnet stock ST" --test_set "${t}" --task st \
            --hyp "exp/peer_st/decode_test_st_${t}/1best_recog/text" --ref "dump/raw/test_st_${t}/text" \
            --decode_dir "exp/peer_st/decode_test_st_${t}" --command "./run.sh --stage 12 --stop_stage 13" > /dev/null
    done
fi
if [ -n "${moe_systems// /}" ]; then
    python -m espnet_csst.bin.score_results --results_dir . --render_only --table "${table}" \
        --table_note "Systems${moe_systems} (seeds ${seeds}; training seconds per seed: $(seconds_note ${moe_systems})) and the peer (one run) on the same data; every CSST system starts from exp/llm_pretrain and trains ${epochs} epochs in stages A/B/C (d and e: one stage A per seed, the same model; a: stage C only, on train_cs, for about as many steps as b${steps_b:+, ${steps_b}}). b-d train stage C on train_cs + train_mono_es; e on train_cs, replaying train_mono_es at the transition weight lambda(t) (B replays a third of A's data the same way). route_acc: the MoE group router's argmax against each token's language (percent; mono: tokens of monolingual utterances, cs: of code-switched ones). Choose on dev_cs/dev_mono, report test. ${record_note} This call: $(( $(date +%s) - start_all )) s on $(nproc) CPU core(s), $(date -u '+%Y-%m-%d')." > /dev/null
fi
log "wrote the ablation table into RESULTS.md and RESULTS.json"
