#!/usr/bin/env bash
# csst.sh: the stage script of espnet_csst recipes (the counterpart of ESPnet's st.sh).
# A recipe's run.sh sets its data sets and configs and calls this script.
#
#   1  data         local/data.sh                                  -> data/<set>
#   2  format       copy into the dump area                        -> dump/raw/<set>
#   3  filter       per-stage task dirs; drops reported             -> dump/raw/{stageA,stageB,stageC,peer,test}_*
#   4  token list   sentencepiece (or the LLM's tokenizer), source  -> data/token_list/
#   5  LLM text pre-training (skipped for a pretrained LLM)         -> exp/llm_pretrain/llm.pth
#                   and its translations of the test sets' gold transcripts (the ceiling)
#   6  stats        frozen pretrained frontend's frames, computed once -> dump/frames/ (+ feats.scp per dir)
#                   (configs with frontend: whisper_hf), feature statistics and shapes -> exp/stats_stage{A,B,C}/
#   7  train A      ASR on monolingual speech of every language     -> exp/csst_stageA/
#   8  align layers (--use_ot_align true) LLM layers for the OT loss -> exp/align_layers/ot_layers.yaml
#                   by speech->text retrieval with the stage-A model
#   9  train B      monolingual ST, from A                          -> exp/csst_stageB/
#  10  train C      code-switched ST, from B                        -> exp/csst_stageC/
#  11  decode       batched KV-cached generation on the test sets   -> exp/csst_stage*/decode_*/
#  12  peer train   ESPnet's stock ST model (st_train)              -> exp/peer_st/
#                   and, with --peer_frames_config, ESPnet's ST on the CSST model's cached
#                   frontend frames (the same acoustics)             -> exp/peer_st_whisper/
#  13  peer decode  espnet2.bin.st_inference                        -> exp/peer_st*/decode_*/
#  14  score        BLEU/chrF (sacrebleu), WER                      -> RESULTS.md, RESULTS.json
#  15  pack         model zip for sharing                           -> exp/csst_stageC/packed.zip
#  16  upload       hub layout + model card; uploads with --hf_repo -> exp/csst_stageC/hf_upload/
#                   (not run by default: ./run.sh --stage 16 --stop_stage 16 [--hf_repo owner/name])
# --peer_beside true (CPU): stages 12-13 run in the background beside stages 5-11, each with
# half the threads (log: exp/peer_st.log); stage 14 waits for them.
set -euo pipefail
script_args=("$@")  # the peer's background run repeats them

SCRIPTS="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scripts"
# shellcheck disable=SC1091
. "${SCRIPTS}/utils/data_lib.sh"
# shellcheck disable=SC1091
. "${SCRIPTS}/utils/stage_lib.sh"

# ---- options (all settable as --name value) ------------------------------------------
stage=1
stop_stage=15
nj=2                      # parallel jobs for data preparation
inference_nj=2            # parallel decoding jobs
gpu_inference=false       # decode on a GPU (one per job), as ESPnet's --gpu_inference; else on CPU
ngpu=0                    # GPUs per training process group: > 1 runs ESPnet's DDP on this node
train_launcher=""         # multi-node / external launcher for csst_train, replacing "${python}", e.g.
                          #   "torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint host0:29500"
                          #   (then --ngpu 1: one GPU per process); see README "Multiple GPUs and nodes"
python=python
local_data_opts=""        # passed to local/data.sh
dumpdir=dump
frames_dir=""             # stage 6: cache of a frozen pretrained frontend's frames (default: <dumpdir>/frames)
expdir=exp
tgt_lang=en               # the translation target language
languages="es en"         # languages spoken in the corpus (utt2lang may also say cs)
asr_train_sets="train_asr_en train_mono_es"   # stage A
mono_train_sets="train_mono_es"               # stage B
cs_train_sets="train_cs"                      # stage C
mono_valid_set=dev_mono
cs_valid_set=dev_cs
test_sets="test_cs test_mono_es"
lm_text=""                # extra text for the token list and LLM pre-training: "task|src_file|tgt_file|weight ..."
token_type=bpe            # bpe (recipe sentencepiece) or hugging_face (the LLM's tokenizer)
hf_tokenizer=""           # hugging_face: tokenizer dir or hub name
vocab_size=1000
src_vocab_size=150        # sentencepiece of the source transcripts (CTC target); 0: the LLM's token list
bpe_type=unigram
train_stages="A B C"      # stages to train; a skipped one is bridged (C alone starts from the pre-trained LLM)
replay_ratio_B=0          # transition loss: stage-A utterances replayed per stage-B utterance (0: none)
replay_ratio_C=0          # transition loss: stage-B utterances replayed per stage-C utterance (0: none)
use_ot_align=false        # AI-STA: stage 8 selects LLM layers; stages B and C add the OT loss there
ot_weight=0.5             # weight of the OT loss (model_conf.ot_weight)
align_top_k=2             # how many layers stage 8 selects
ot_layers=""              # the layers to align instead of stage 8's choice, e.g. "[4]" (ablations)
align_data=""             # held-out task dir (wav.scp, src_text, task) for stage 8; default: stage B's valid dir
min_dur=0.3
max_dur=20
train_config=conf/train_csst.yaml
llm_pretrain_args=""      # e.g. "--steps 300"
train_args=""             # extra csst_train options for stages A-C and their statistics (6), e.g. "--model_conf ctc_weight=0.5"
stageA_args=""            # extra csst_train options per stage, e.g. "--max_epoch 4"
stageB_args=""
stageC_args=""
inference_config=conf/decode_csst.yaml
inference_model=valid.acc.best.pth
hf_repo=""                # stage 16: Hugging Face repo id to upload to (empty: write the layout only)
asr_decode=true           # also decode the test sets with the stage-A model (WER)
stageB_decode=true        # also decode the test sets with the stage-B model (what stage C forgets)
run_peer=true
peer_config=conf/peer_st.yaml
peer_inference_config=conf/peer_decode.yaml
peer_frames_config=""     # a second peer: ESPnet ST on stage 6's cached frames (needs a frozen frontend)
peer_frames_inference_config=""  # its st_inference config (default: --peer_inference_config)
peer_args=""              # extra st_train options for the peer
peer_max_epoch=""
peer_beside=false         # CPU: run the peer (stages 12-13) in the background beside stages 5-11, half the threads each

# ---- end options
options="$(sed -n '/^# ---- options/,/^# ---- end options/p' "$0" | grep -oE '^[a-z_A-Z]+=' | tr -d = | sed 's/^/--/' | tr '\n' ' ')"

usage() { print_usage "$0" 2 23; }

parse_options "${options}" "$@"

for v in replay_ratio_B replay_ratio_C; do
    [[ "${!v}" =~ ^[0-9]*\.?[0-9]+$ ]] || die "--${v} must be a non-negative number, got '${!v}'"
done
[[ " ${train_stages} " == *" C "* ]] || die "--train_stages must include C (the decoded model), got '${train_stages}'"
[[ "${gpu_inference}" =~ ^(true|false)$ ]] || die "--gpu_inference must be true or false, got '${gpu_inference}'"
for v in stage stop_stage nj inference_nj ngpu vocab_size src_vocab_size; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v} must be a non-negative integer, got '${!v}'"
done
for v in peer_beside use_ot_align; do
    [[ "${!v}" =~ ^(true|false)$ ]] || die "--${v} must be true or false, got '${!v}'"
done
[ -f ./path.sh ] && . ./path.sh

times_file="${expdir}/stage_times.tsv"  # run_stage/end_stage (scripts/utils/stage_lib.sh)

raw="${dumpdir}/raw"
[ -n "${frames_dir}" ] || frames_dir="${dumpdir}/frames"
token_dir="data/token_list/${token_type}_${bpe_type}${vocab_size}"
[ "${token_type}" = hugging_face ] && token_dir="data/token_list/hugging_face"
token_list="${token_dir}/tokens.txt"
bpemodel="${token_dir}/bpe.model"
[ "${token_type}" = hugging_face ] && bpemodel="${hf_tokenizer}"
all_sets="$(echo ${asr_train_sets} ${mono_train_sets} ${cs_train_sets} ${mono_valid_set} ${cs_valid_set} ${test_sets} | tr ' ' '\n' | awk '!seen[$0]++' | tr '\n' ' ')"
src_token_args=()  # the source transcripts' own token list (CTC target), when configured
src_token_dir="data/token_list/src_${bpe_type}${src_vocab_size}"
if [ "${src_vocab_size}" -gt 0 ]; then
    src_token_args=(--src_token_list "${src_token_dir}/tokens.txt" --src_bpemodel "${src_token_dir}/bpe.model")
fi
llm_dir="${expdir}/llm_pretrain"
stats_feats="${expdir}/stats_stageA/train/feats_stats.npz"

cached_frames=false  # a frozen pretrained frontend (whisper_hf): stage 6 caches its frames
config_caches_frontend "${train_config}" && cached_frames=true
speech_input() {  # speech_input DIR: the speech of a task dir as csst_train/csst_inference read it
    if [ "${cached_frames}" = true ]; then
        [ -f "$1/feats.scp" ] || die "$1/feats.scp is missing: run stage 6, which computes the frontend's frames"
        echo "$1/feats.scp,speech,kaldi_ark"
    else
        echo "$1/wav.scp,speech,sound"
    fi
}
compute_frames() {  # compute_frames DIR...: the frozen frontend's frames of task dirs (cached; each recording once)
    log "computing the frozen frontend's frames of $# task dirs -> ${frames_dir} (log: ${frames_dir}.log)"
    mkdir -p "$(dirname "${frames_dir}")"
    # appended: a later run that finds every recording cached keeps the log of the run that computed them
    echo "==== $(date -u '+%Y-%m-%dT%H:%M:%S') ${train_config}: $# task dirs" >> "${frames_dir}.log"
    ${python} -m espnet_csst.bin.dump_frontend_feats --config "${train_config}" --cache_root "${frames_dir}" \
        "$@" >> "${frames_dir}.log" 2>&1 || { tail -n 5 "${frames_dir}.log"; die "computing frames failed; see ${frames_dir}.log"; }
    log "$(grep -oE '(computed .*|every recording was already in .*)' "${frames_dir}.log" | tail -n 1)"
}
ensure_frames() {  # ensure_frames DIR...: frames for the task dirs without a feats.scp (a rerun of
    # stage 3 remakes the task dirs; the cache makes this quick when their recordings are in it)
    [ "${cached_frames}" = true ] || return 0
    local d missing=()
    for d in "$@"; do
        if [ -d "${d}" ] && [ ! -f "${d}/feats.scp" ]; then missing+=("${d}"); fi
    done
    [ "${#missing[@]}" -eq 0 ] || compute_frames "${missing[@]}"
}
task_data_args() {  # task_data_args PREFIX DIR: data options of csst_train for a task dir
    local p="$1" d="$2"
    echo "--${p}_data_path_and_name_and_type $(speech_input "${d}")" \
         "--${p}_data_path_and_name_and_type ${d}/text,text,text" \
         "--${p}_data_path_and_name_and_type ${d}/task,task,text" \
         "--${p}_data_path_and_name_and_type ${d}/src_text,src_text,text"
    # the spoken language over time (MoE language loss; other projectors ignore it)
    [ ! -f "${d}/lang_ali" ] || echo "--${p}_data_path_and_name_and_type ${d}/lang_ali,lang_ali,text"
    # the previous stage's replayed utterances (transition loss)
    [ ! -f "${d}/replay" ] || echo "--${p}_data_path_and_name_and_type ${d}/replay,replay,text"
}
pretrained_llm() { config_has_pretrained_llm "${train_config}"; }  # then no text pre-training
if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 6 ]; then  # before any statistics or training
    # shellcheck disable=SC2086
    check_projector_languages "${train_config}" ${languages} || die "fix ${train_config} or --languages"
fi

if run_stage 1 "data preparation"; then
    log "local/data.sh ${local_data_opts} -> data/"
    # shell-parse the options so that quoted values (--corpus_opts '--n_train_cs 50') stay whole
    eval "data_opts=(${local_data_opts})"
    ./local/data.sh --nj "${nj}" "${data_opts[@]}"
    end_stage
fi

if run_stage 2 "format"; then
    for s in ${all_sets}; do
        ${python} -m espnet_csst.bin.copy_data_dir --audio_root "data/${s}" "data/${s}" "${raw}/${s}"
        # ESPnet's loader passes no sample rate on: audio not mono 16 kHz is converted (FLAC) here
        ${python} -m espnet_csst.bin.convert_audio_dir --fs 16000 "${raw}/${s}"
        ${python} -m espnet_csst.bin.validate_data_dir --no_audio "${raw}/${s}" > /dev/null
        log "${raw}/${s}: $(wc -l < "${raw}/${s}/wav.scp") utterances"
    done
    end_stage
fi

if run_stage 3 "filter and task directories"; then
    mk() { ${python} -m espnet_csst.bin.make_task_dir --languages ${languages} cs \
        --min_dur "${min_dur}" --max_dur "${max_dur}" "$@"; }
    # prefixed "SETS": their dump dirs, each set once
    prefixed() { local s out=""; for s in $(echo $1 | tr ' ' '\n' | awk '!seen[$0]++'); do out="${out} ${raw}/${s}"; done; echo "${out}"; }
    # shellcheck disable=SC2046
    {
    mk --task asr --out "${raw}/stageA_train" $(prefixed "${asr_train_sets}")
    mk --task asr --out "${raw}/stageA_valid" "${raw}/${mono_valid_set}"
    mk --task st --tgt_lang "${tgt_lang}" --out "${raw}/stageB_current" $(prefixed "${mono_train_sets}")
    mk --task st --tgt_lang "${tgt_lang}" --out "${raw}/stageB_valid" "${raw}/${mono_valid_set}"
    mk --task st --tgt_lang "${tgt_lang}" --out "${raw}/stageC_current" $(prefixed "${cs_train_sets}")
    mk --task st --tgt_lang "${tgt_lang}" --out "${raw}/stageC_valid" "${raw}/${cs_valid_set}"
    # stages B and C train on their own data plus, for the transition loss, a replay of the
    # previous stage's (flagged in a replay file; the model weights it by lambda(t))
    for st_prev in "B A" "C B"; do
        read -r st prev <<< "${st_prev}"
        prev_dir="${raw}/stage${prev}_current"
        [ "${prev}" = A ] && prev_dir="${raw}/stageA_train"
        ratio_var="replay_ratio_${st}"
        if awk -v r="${!ratio_var}" 'BEGIN{exit !(r > 0)}'; then
            ${python} -m espnet_csst.bin.add_replay --replay "${prev_dir}" --ratio "${!ratio_var}" \
                --out "${raw}/stage${st}_train" "${raw}/stage${st}_current"
        else
            rm -rf "${raw}/stage${st}_train"
            cp -r "${raw}/stage${st}_current" "${raw}/stage${st}_train"
        fi
    done
    # the peer sees all training speech as translation (English speech -> itself)
    mk --task st --tgt_lang "${tgt_lang}" --out "${raw}/peer_train" \
        $(prefixed "${asr_train_sets} ${mono_train_sets} ${cs_train_sets}")
    mk --task st --tgt_lang "${tgt_lang}" --out "${raw}/peer_valid" "${raw}/${mono_valid_set}" "${raw}/${cs_valid_set}"
    for t in ${test_sets}; do
        mk --task st --tgt_lang "${tgt_lang}" --min_dur 0 --max_dur 1e9 --out "${raw}/test_st_${t}" "${raw}/${t}"
        mk --task asr --min_dur 0 --max_dur 1e9 --out "${raw}/test_asr_${t}" "${raw}/${t}"
    done
    }
    end_stage
fi

lm_text_files() {  # lm_text_files src|both: the text files named in --lm_text
    local spec src tgt out=""
    for spec in ${lm_text}; do
        IFS='|' read -r _ src tgt _ <<< "${spec}"
        out="${out} ${src}"
        [ "$1" = both ] && out="${out} ${tgt}"
    done
    echo "${out}"
}
train_bpe() {  # train_bpe OUT_DIR VOCAB_SIZE KALDI_TEXT_FILE... -- TEXT_FILE...
    local out="$1" size="$2" kaldi=()
    shift 2
    while [ "$1" != -- ]; do kaldi+=("$1"); shift; done
    shift
    # shellcheck disable=SC2086
    ${python} -m espnet_csst.bin.make_token_list --token_type bpe --out "${out}" --vocab_size "${size}" \
        --bpe_type "${bpe_type}" --languages ${languages} cs --kaldi_text "${kaldi[@]}" --text "$@"
}

if run_stage 4 "token list"; then
    if [ "${token_type}" = bpe ]; then
        # shellcheck disable=SC2046
        train_bpe "${token_dir}" "${vocab_size}" "${raw}/stageA_train/text" "${raw}/stageB_train/text" \
            "${raw}/stageC_train/src_text" -- $(lm_text_files both)
    else
        ${python} -m espnet_csst.bin.make_token_list --token_type hugging_face --tokenizer "${hf_tokenizer}" --out "${token_dir}"
    fi
    log "token list: ${token_list}"
    if [ "${src_vocab_size}" -gt 0 ]; then
        # source transcripts only (lower-case, unpunctuated): small pieces a CTC learns fast
        # shellcheck disable=SC2046
        train_bpe "${src_token_dir}" "${src_vocab_size}" "${raw}/stageA_train/src_text" \
            "${raw}/stageB_train/src_text" "${raw}/stageC_train/src_text" -- $(lm_text_files src)
        log "source transcript token list: ${src_token_dir}/tokens.txt"
    fi
    end_stage
fi

peer_on_frames() { [ -n "${peer_frames_config}" ] && [ "${cached_frames}" = true ]; }
if [ -n "${peer_frames_config}" ] && [ "${cached_frames}" != true ] && [ "${run_peer}" = true ]; then
    die "--peer_frames_config needs cached frontend frames, but ${train_config} has no frozen whisper_hf frontend"
fi
peer() {  # peer FIRST LAST: peer_st.sh stages of the stock peer and, if configured, the frames peer
    local tests="" t epoch_opt=()
    for t in ${test_sets}; do tests="${tests} ${raw}/test_st_${t}"; done
    [ -n "${peer_max_epoch}" ] && epoch_opt=(--max_epoch "${peer_max_epoch}")
    local common=(--stage "$1" --stop_stage "$2" --train_dir "${raw}/peer_train"
        --valid_dir "${raw}/peer_valid" --test_sets "${tests# }" --token_list "${token_list}"
        --bpemodel "${bpemodel}" "${src_token_args[@]}" --inference_config "${peer_inference_config}"
        --nj "${nj}" --inference_nj "${inference_nj}" --ngpu "${ngpu}" --gpu_inference "${gpu_inference}"
        --train_args "${peer_args}" --python "${python}" "${epoch_opt[@]}")
    "${SCRIPTS}/peer_st.sh" "${common[@]}" --exp_dir "${expdir}/peer_st" --config "${peer_config}"
    if peer_on_frames; then
        ensure_frames "${raw}/peer_train" "${raw}/peer_valid" ${tests}
        "${SCRIPTS}/peer_st.sh" "${common[@]}" --exp_dir "${expdir}/peer_st_whisper" \
            --config "${peer_frames_config}" --speech_input frames \
            --inference_config "${peer_frames_inference_config:-${peer_inference_config}}"
    fi
}

# With --peer_beside true the peer trains beside the LLM-based model, each with half the
# CPU threads; the background run is this script again for stages 12-13. On 2 cores it gains
# little: both jobs ran 1.85x slower with one thread each (doc/csst.md), so it is off by default.
peer_pid=""
peer_log="${expdir}/peer_st.log"
peer_runs_beside() {
    [ "${peer_beside}" = true ] && [ "${ngpu}" -eq 0 ] && [ "${run_peer}" = true ] &&
        [ "${stage}" -le 11 ] && [ "${stop_stage}" -ge 13 ]
}
kill_tree() {  # kill_tree PID: the process and everything it started
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "${child}"; done
    kill "$1" 2>/dev/null || true
}
if peer_runs_beside; then
    mkdir -p "${expdir}"
    half="$(threads_for 2)"
    log "stages 12-13 (peer) start in the background, beside stages 5-11, ${half} thread(s) each (log: ${peer_log})"
    OMP_NUM_THREADS="${half}" "$0" "${script_args[@]}" --stage 12 --stop_stage 13 --peer_beside false \
        > "${peer_log}" 2>&1 &
    peer_pid=$!
    trap '[ -z "${peer_pid}" ] || kill_tree "${peer_pid}"' EXIT
    omp_before="${OMP_NUM_THREADS-unset}"
    export OMP_NUM_THREADS="${half}"
fi

if run_stage 5 "LLM text pre-training"; then
    if pretrained_llm; then
        log "the config uses a pretrained LLM: nothing to pre-train"
    elif [ -z "${lm_text}" ]; then
        die "--lm_text is empty: give text pairs for LLM pre-training or configure a pretrained LLM"
    else
        pair_args=()
        for spec in ${lm_text}; do
            IFS='|' read -r task src tgt weight <<< "${spec}"
            pair_args+=(--pair "${task//_/ }" "${src}" "${tgt}" "${weight}")
        done
        # afterwards it translates the test sets' gold transcripts: the text-only ceiling
        for t in ${test_sets}; do pair_args+=(--decode_dir "${raw}/test_st_${t}"); done
        mkdir -p "${llm_dir}"
        log "training the LLM on text -> ${llm_dir} (log: ${llm_dir}/train.log)"
        # shellcheck disable=SC2086
        ${python} -m espnet_csst.bin.llm_pretrain --config "${train_config}" --token_list "${token_list}" \
            --bpemodel "${bpemodel}" "${pair_args[@]}" --out "${llm_dir}" ${llm_pretrain_args} \
            2>&1 | tee "${llm_dir}/train.log" | { grep --line-buffered -E "step|wrote|task|LLM|translated" || true; } ||
            die "LLM pre-training failed; see ${llm_dir}/train.log"  # pipefail: the trainer's exit status
        [ -f "${llm_dir}/llm.pth" ] || die "LLM pre-training wrote no ${llm_dir}/llm.pth; see ${llm_dir}/train.log"
    fi
    end_stage
fi

if run_stage 6 "statistics"; then
    if [ "${cached_frames}" = true ]; then
        # every task dir, the peer's and the tests' too: each recording is computed once
        frame_dirs=()
        for st in stageA stageB stageC; do frame_dirs+=("${raw}/${st}_train" "${raw}/${st}_valid"); done
        for t in ${test_sets}; do frame_dirs+=("${raw}/test_st_${t}" "${raw}/test_asr_${t}"); done
        [ "${run_peer}" = true ] && frame_dirs+=("${raw}/peer_train" "${raw}/peer_valid")
        compute_frames "${frame_dirs[@]}"
    fi
    for st in stageA stageB stageC; do
        out="${expdir}/stats_${st}"
        log "collecting feature statistics and shapes of ${raw}/${st}_train -> ${out}"
        # --train_args too (as ESPnet's asr.sh): the model is built, with the models it names
        # shellcheck disable=SC2046,SC2086
        ${python} -m espnet_csst.bin.csst_train --collect_stats true --config "${train_config}" \
            --token_type "${token_type}" --token_list "${token_list}" --bpemodel "${bpemodel}" \
            "${src_token_args[@]}" --normalize none --num_workers "${nj}" \
            $(task_data_args train "${raw}/${st}_train") $(task_data_args valid "${raw}/${st}_valid") \
            --train_shape_file "${raw}/${st}_train/wav.scp" --valid_shape_file "${raw}/${st}_valid/wav.scp" \
            ${train_args} --output_dir "${out}" > "${out}.log" 2>&1 ||
            { tail -n 30 "${out}.log"; die "statistics failed; see ${out}.log"; }
    done
    end_stage
fi

train_csst() {  # train_csst STAGE INIT_PARAM EXTRA_ARGS [OPTION...]: EXTRA_ARGS word-split, OPTIONs as they are
    local st="$1" init="$2" extra="$3" out="${expdir}/csst_$1"
    local init_opt=() launch=("${python}")
    [ -n "${init}" ] && init_opt=(--init_param "${init}")
    if [ -n "${train_launcher}" ]; then  # the launcher starts the processes: ESPnet's external-launcher mode
        read -r -a launch <<< "${train_launcher}"
        init_opt+=(--multiprocessing_distributed false)
    fi
    mkdir -p "${out}"
    ensure_frames "${raw}/${st}_train" "${raw}/${st}_valid"
    log "training ${st} on ${raw}/${st}_train -> ${out} (log: ${out}/train.log)"
    # shellcheck disable=SC2046,SC2086
    "${launch[@]}" -m espnet_csst.bin.csst_train --config "${train_config}" --ngpu "${ngpu}" \
        --token_type "${token_type}" --token_list "${token_list}" --bpemodel "${bpemodel}" \
        "${src_token_args[@]}" --normalize_conf stats_file="${stats_feats}" \
        $(task_data_args train "${raw}/${st}_train") $(task_data_args valid "${raw}/${st}_valid") \
        --train_shape_file "${expdir}/stats_${st}/train/speech_shape" \
        --valid_shape_file "${expdir}/stats_${st}/valid/speech_shape" \
        --resume true --output_dir "${out}" "${init_opt[@]}" ${extra} "${@:4}" > "${out}/train.log" 2>&1 &
    local pid=$!
    # show the trainer's epoch summaries while it runs
    tail -n +1 -F "${out}/train.log" 2>/dev/null --pid "${pid}" | grep --line-buffered -E "epoch results|Traceback|Error" || true
    wait "${pid}" || { tail -n 30 "${out}/train.log"; die "training ${st} failed; see ${out}/train.log"; }
    [ -f "${out}/${inference_model}" ] || die "${out}/${inference_model} was not written; see ${out}/train.log"
}

# Stage A starts from the pre-trained LLM; B and C from the previous trained stage's model,
# without its transition-step counter (each stage's schedule starts at 0). That model is also
# the frozen teacher of the optional KL term (model_conf.transition_kl_weight).
trains() { [[ " ${train_stages} " == *" $1 "* ]]; }
init_from() {  # init_from STAGE: csst_train options that start STAGE from what came before it
    local prev="" s
    for s in A B C; do
        [ "${s}" = "$1" ] && break
        trains "${s}" && prev="${s}"
    done
    if [ -n "${prev}" ]; then
        local m="${expdir}/csst_stage${prev}/${inference_model}"
        echo "--init_param ${m}:::transition_step --model_conf transition_teacher=${m}"
    elif ! pretrained_llm; then
        echo "--init_param ${llm_dir}/llm.pth::llm"
    fi
}
ot_layers_file="${expdir}/align_layers/ot_layers.yaml"
ot_options() {  # ot_options A|B|C: the OT loss options of a stage (B and C with --use_ot_align true)
    [ "${use_ot_align}" = true ] && [ "$1" != A ] || return 0
    local layers="${ot_layers// /}"
    [ -n "${layers}" ] || layers="$(${python} -c 'import sys, yaml; print(str(yaml.safe_load(open(sys.argv[1]))["model_conf"]["ot_layers"]).replace(" ", ""))' "${ot_layers_file}")"
    printf '%s\n' --model_conf "ot_weight=${ot_weight}" --model_conf "ot_layers=${layers}"
}
train_stage() {  # train_stage A|B|C EXTRA_ARGS
    if trains "$1"; then
        local ot=()
        if [ "${use_ot_align}" = true ] && [ "$1" != A ] && [ -z "${ot_layers}" ] && [ ! -f "${ot_layers_file}" ]; then
            die "${ot_layers_file} is missing: run stage 8 (layer selection) first"
        fi
        mapfile -t ot < <(ot_options "$1")
        [ "${#ot[@]}" -eq 0 ] || log "stage $1 adds the OT alignment loss: ${ot[*]}"
        train_csst "stage$1" "" "$(init_from "$1") ${train_args} $2" "${ot[@]}"
    else
        log "stage $1 is not in --train_stages '${train_stages}': skipped"
    fi
}
if run_stage 7 "train stage A (ASR)"; then
    train_stage A "${stageA_args}"
    end_stage
fi
if run_stage 8 "select alignment layers (AI-STA)"; then
    if [ "${use_ot_align}" = true ]; then
        trains A || die "--use_ot_align true selects layers with the stage-A model; --train_stages must include A"
        data="${align_data:-${raw}/stageB_valid}"
        out="${expdir}/align_layers"
        mkdir -p "${out}"
        log "speech->text retrieval per LLM layer with ${expdir}/csst_stageA on ${data} -> ${out} (log: ${out}.log)"
        ${python} -m espnet_csst.bin.select_align_layers --csst_train_config "${expdir}/csst_stageA/config.yaml" \
            --csst_model_file "${expdir}/csst_stageA/${inference_model}" --data_dir "${data}" \
            --output_dir "${out}" --top_k "${align_top_k}" > "${out}.log" 2>&1 ||
            { tail -n 20 "${out}.log"; die "layer selection failed; see ${out}.log"; }
        cat "${out}/layers.md"
        log "stages B and C align the layers of ${ot_layers_file} (plot: ${out}/layers.png)"
    else
        log "--use_ot_align false: no layer selection (stages B and C train without the OT loss)"
    fi
    end_stage
fi
if run_stage 9 "train stage B (monolingual ST)"; then
    train_stage B "${stageB_args}"
    end_stage
fi
if run_stage 10 "train stage C (code-switched ST)"; then
    train_stage C "${stageC_args}"
    logs=()
    for s in A B C; do trains "${s}" && logs+=("${s}=${expdir}/csst_stage${s}/train.log"); done
    ${python} -m espnet_csst.bin.plot_stages --out "${expdir}/csst_stageC/images/stages.png" "${logs[@]}" ||
        log "warning: no stage plot (see above)"
    if [ -f "${expdir}/align_layers/layers.png" ]; then  # stage 8's choice, beside the curves it shaped
        cp "${expdir}/align_layers/layers.png" "${expdir}/csst_stageC/images/align_layers.png"
    fi
    log "plots: ${expdir}/csst_stageC/images/ (stages.png: losses, transition weight, MoE and OT losses of A-C)"
    end_stage
fi

decode_csst() {  # decode_csst MODEL_DIR TASK TEST
    # --ctc_text: the CTC head's greedy transcript too (<out>/ctc/text; scored as csst_stage*_ctc)
    local mdir="$1" task="$2" t="$3" out="$1/decode_${2}_${3}"
    # inference_nj jobs share the cores: oversubscribed torch threads make small-batch
    # generation several times slower
    OMP_NUM_THREADS="$(threads_for "${inference_nj}")" ${python} -m espnet_csst.bin.csst_inference --config "${inference_config}" --ngpu "$([ "${gpu_inference}" = true ] && echo 1 || echo 0)" \
        --csst_train_config "${mdir}/config.yaml" --csst_model_file "${mdir}/${inference_model}" \
        --data_path_and_name_and_type "$(speech_input "${raw}/test_${task}_${t}")" \
        --data_path_and_name_and_type "${raw}/test_${task}_${t}/task,task,text" \
        --ctc_text true --output_dir "${out}" > "${out}.log" 2>&1 || { tail -n 20 "${out}.log"; die "decoding failed; see ${out}.log"; }
    log "decoded ${raw}/test_${task}_${t} with ${mdir} -> ${out}/1best_recog/text"
}

if run_stage 11 "decode"; then
    # test sets that stage 6 did not see (e.g. --test_sets "dev_cs")
    for t in ${test_sets}; do ensure_frames "${raw}/test_st_${t}" "${raw}/test_asr_${t}"; done
    # inference_nj jobs at a time; waits name their jobs (the peer may run in the background)
    decode_jobs=()
    wait_decode_jobs() { local j; for j in "${decode_jobs[@]}"; do wait "${j}"; done; decode_jobs=(); }
    for t in ${test_sets}; do
        decode_csst "${expdir}/csst_stageC" st "${t}" &
        decode_jobs+=($!); [ "${#decode_jobs[@]}" -ge "${inference_nj}" ] && wait_decode_jobs
        if [ "${asr_decode}" = true ] && trains A; then
            decode_csst "${expdir}/csst_stageA" asr "${t}" &
            decode_jobs+=($!); [ "${#decode_jobs[@]}" -ge "${inference_nj}" ] && wait_decode_jobs
        fi
        if [ "${stageB_decode}" = true ] && trains B; then
            decode_csst "${expdir}/csst_stageB" st "${t}" &
            decode_jobs+=($!); [ "${#decode_jobs[@]}" -ge "${inference_nj}" ] && wait_decode_jobs
        fi
    done
    wait_decode_jobs
    for t in ${test_sets}; do
        [ -s "${expdir}/csst_stageC/decode_st_${t}/1best_recog/text" ] || die "no output for ${t}; see ${expdir}/csst_stageC/decode_st_${t}.log"
    done
    if grep -q "^projector: moe" "${expdir}/csst_stageC/config.yaml"; then
        for t in ${test_sets}; do  # how the MoE projector routes each language's tokens
            out="${expdir}/csst_stageC/routing_${t}"
            mkdir -p "${out}"
            ${python} -m espnet_csst.bin.routing_report --csst_train_config "${expdir}/csst_stageC/config.yaml" \
                --csst_model_file "${expdir}/csst_stageC/${inference_model}" --data_dir "${raw}/test_st_${t}" \
                --output_dir "${out}" > "${out}.log" 2>&1 || { tail -n 20 "${out}.log"; die "routing report failed; see ${out}.log"; }
            mkdir -p "${expdir}/csst_stageC/images"
            cp "${out}/routing.png" "${expdir}/csst_stageC/images/routing_${t}.png"
            log "$(grep -o "test_st_${t}: routing accuracy.*" "${out}.log")"
        done
    fi
    end_stage
fi

if [ -n "${peer_pid}" ]; then
    log "waiting for the peer's stages 12-13 in the background (log: ${peer_log})"
    wait "${peer_pid}" || { tail -n 30 "${peer_log}"; peer_pid=""; die "the peer failed; see ${peer_log}"; }
    peer_pid=""
    grep -E "Stage 1[23] .* done in" "${peer_log}" || true
    if [ "${omp_before}" = unset ]; then unset OMP_NUM_THREADS; else export OMP_NUM_THREADS="${omp_before}"; fi
else
    if run_stage 12 "peer: ESPnet stock ST training"; then
        if [ "${run_peer}" = true ]; then peer 1 2; else log "--run_peer false: skipped"; fi
        end_stage
    fi
    if run_stage 13 "peer: ESPnet st_inference"; then
        if [ "${run_peer}" = true ]; then peer 3 3; else log "--run_peer false: skipped"; fi
        end_stage
    fi
fi

results_note() {
    echo "Produced by \`./run.sh\` (egs2/TEMPLATE/csst1/csst.sh, stages 1-15) on $(uname -n): $(nproc) CPU core(s) of $(cpu_model), ngpu ${ngpu}, $(date -u '+%Y-%m-%d'). Per-stage wall times below; rerun any stage with \`./run.sh --stage N --stop_stage N\`."
}

if run_stage 14 "score"; then
    # the plots RESULTS.md links to: ESPnet's curves per stage (images/<stat>.png, one per
    # reported statistic, loss_ot_l<k> included) and the project's own
    results_plots=()
    add_plot() { [ ! -e "$2" ] || results_plots+=(--plot "$1=$2"); }
    for s in A B C; do
        add_plot "stage ${s}: loss (ESPnet, per epoch)" "${expdir}/csst_stage${s}/images/loss.png"
        add_plot "stage ${s}: accuracy (ESPnet, per epoch)" "${expdir}/csst_stage${s}/images/acc.png"
    done
    add_plot "stages A-C on one step axis: losses, transition weight, MoE and OT losses" \
        "${expdir}/csst_stageC/images/stages.png"
    for f in "${expdir}"/csst_stageC/images/loss_ot_l*.png; do
        l="${f##*loss_ot_l}"; add_plot "OT loss at LLM layer ${l%.png} (stage C, ESPnet, per epoch)" "${f}"
    done
    add_plot "layer selection for the OT loss: retrieval per LLM layer (stage 8)" \
        "${expdir}/csst_stageC/images/align_layers.png"
    for t in ${test_sets}; do
        add_plot "MoE routing on ${t}: expert use per token language" "${expdir}/csst_stageC/images/routing_${t}.png"
    done
    score() {  # score SYSTEM TEST TASK HYP REF DECODE_DIR COMMAND [score_results options]
        ${python} -m espnet_csst.bin.score_results --results_dir . --system "$1" --test_set "$2" \
            --task "$3" --hyp "$4" --ref "$5" --decode_dir "$6" --command "$7" "${@:8}" \
            --title "RESULTS: $(basename "$(dirname "${PWD}")")/$(basename "${PWD}")" --header_note "$(results_note)"
    }
    for t in ${test_sets}; do
        routing=()
        [ -f "${expdir}/csst_stageC/routing_${t}/routing.json" ] &&
            routing=(--routing_json "${expdir}/csst_stageC/routing_${t}/routing.json")
        score csst_stageC "${t}" st "${expdir}/csst_stageC/decode_st_${t}/1best_recog/text" \
            "${raw}/test_st_${t}/text" "${expdir}/csst_stageC/decode_st_${t}" \
            "./run.sh  # conf: ${train_config}, ${inference_config}" "${routing[@]}"
        if [ "${asr_decode}" = true ] && [ -f "${expdir}/csst_stageA/decode_asr_${t}/1best_recog/text" ]; then
            score csst_stageA_asr "${t}" asr "${expdir}/csst_stageA/decode_asr_${t}/1best_recog/text" \
                "${raw}/test_asr_${t}/text" "${expdir}/csst_stageA/decode_asr_${t}" \
                "./run.sh --stop_stage 7  # stage A model, ASR prompt"
        fi
        for s in A C; do  # the CTC head alone: what the speech side reads, before the LLM
            d="${expdir}/csst_stage${s}/decode_$([ "${s}" = A ] && echo asr || echo st)_${t}"
            if [ -f "${d}/ctc/text" ] && [ -f "${raw}/test_asr_${t}/text" ]; then
                score "csst_stage${s}_ctc" "${t}" asr "${d}/ctc/text" "${raw}/test_asr_${t}/text" "${d}" \
                    "./run.sh --stage 11 --stop_stage 11  # the stage-${s} model's CTC head, greedy (ctc/text)"
            fi
        done
        if [ "${stageB_decode}" = true ] && [ -f "${expdir}/csst_stageB/decode_st_${t}/1best_recog/text" ]; then
            score csst_stageB "${t}" st "${expdir}/csst_stageB/decode_st_${t}/1best_recog/text" \
                "${raw}/test_st_${t}/text" "${expdir}/csst_stageB/decode_st_${t}" \
                "./run.sh --stop_stage 9  # stage B model (monolingual ST), before code-switched training"
        fi
        if [ -f "${llm_dir}/decode_test_st_${t}/text" ]; then
            score llm_text_ceiling "${t}" st "${llm_dir}/decode_test_st_${t}/text" "${raw}/test_st_${t}/text" \
                "${llm_dir}/decode_test_st_${t}" "./run.sh --stage 5 --stop_stage 5  # the stage-5 LLM on the gold source transcripts"
        fi
        if [ "${run_peer}" = true ]; then
            score peer_espnet_st "${t}" st "${expdir}/peer_st/decode_test_st_${t}/1best_recog/text" \
                "${raw}/test_st_${t}/text" "${expdir}/peer_st/decode_test_st_${t}" \
                "./run.sh --stage 12 --stop_stage 13  # conf: ${peer_config}, ${peer_inference_config}"
            if peer_on_frames; then
                score peer_espnet_st_whisper "${t}" st "${expdir}/peer_st_whisper/decode_test_st_${t}/1best_recog/text" \
                    "${raw}/test_st_${t}/text" "${expdir}/peer_st_whisper/decode_test_st_${t}" \
                    "./run.sh --stage 12 --stop_stage 13  # conf: ${peer_frames_config} (the CSST model's cached frames), ${peer_frames_inference_config:-${peer_inference_config}}"
            fi
        fi
    done
    end_stage
    ${python} -m espnet_csst.bin.score_results --results_dir . --render_only --timings "${times_file}" \
        --header_note "$(results_note)" "${results_plots[@]}"
    log "wrote RESULTS.md and RESULTS.json (plots linked: $(( ${#results_plots[@]} / 2 )))"
fi

if run_stage 15 "pack"; then
    ${python} -m espnet_csst.bin.pack_csst --model_dir "${expdir}/csst_stageC" --model_file "${inference_model}" \
        --out "${expdir}/csst_stageC/packed.zip"
    end_stage
    if [ -f RESULTS.json ]; then
        ${python} -m espnet_csst.bin.score_results --results_dir . --render_only --timings "${times_file}" \
            --header_note "$(results_note)"
    fi
fi
if run_stage 16 "upload"; then
    up=(--packed "${expdir}/csst_stageC/packed.zip" --out_dir "${expdir}/csst_stageC/hf_upload" --results RESULTS.md
        --recipe "egs2/$(basename "$(dirname "${PWD}")")/$(basename "${PWD}")/run.sh")
    [ -z "${hf_repo}" ] || up+=(--repo "${hf_repo}")  # without it nothing leaves the machine
    ${python} -m espnet_csst.bin.upload_model "${up[@]}"
    end_stage
fi

log "Successfully finished stages ${stage}-${stop_stage}"
