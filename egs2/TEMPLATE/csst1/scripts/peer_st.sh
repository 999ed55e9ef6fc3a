#!/usr/bin/env bash
# Peer baseline: ESPnet's stock speech-translation model (espnet2 st_train / st_inference),
# trained on the same data directories, BPE model and token list as the LLM-based model.
#   stage 1: collect feature statistics and shapes  -> <exp_dir>/stats/{train,valid}/
#   stage 2: train                                   -> <exp_dir>/ (config.yaml, *.pth, train.log)
#   stage 3: decode each test dir (inference_nj jobs) -> <exp_dir>/decode_<test>/1best_recog/
# Data dirs: train/valid need wav.scp, text (target), src_text (source transcript);
# test dirs need wav.scp. With --speech_input frames the model reads each dir's feats.scp
# instead (a frozen pretrained frontend's cached frames, csst.sh stage 6; the config sets
# input_size and no frontend). Run from the recipe directory (./path.sh is sourced when present).
set -euo pipefail

stage=1
stop_stage=3
train_dir=""
valid_dir=""
test_sets=""          # space-separated test data dirs
token_list=""         # target text
bpemodel=""           # target text
src_token_list=""     # source transcript (default: --token_list)
src_bpemodel=""       # source transcript (default: --bpemodel)
exp_dir=""
config=""             # st_train config (e.g. conf/peer_st.yaml)
inference_config=""   # st_inference config (e.g. conf/peer_decode.yaml)
inference_model=valid.acc.ave.pth   # file in exp_dir; falls back to the best that exists
nj=1                  # jobs for stage 1 (statistics)
inference_nj=2        # jobs per test dir for stage 3
ngpu=0
gpu_inference=false   # decode on a GPU (one per job), as ESPnet's --gpu_inference
max_epoch=""          # overrides the config's max_epoch when given
train_args=""         # extra st_train options, word-split (e.g. "--num_iters_per_epoch 10")
inference_args=""     # extra st_inference options, word-split
speech_input=sound    # sound: wav.scp; frames: feats.scp (cached frontend frames)
python=python

options="--stage --stop_stage --train_dir --valid_dir --test_sets --token_list --bpemodel --src_token_list --src_bpemodel --exp_dir --config --inference_config --inference_model --nj --inference_nj --ngpu --gpu_inference --max_epoch --train_args --inference_args --speech_input --python"

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    cat <<EOF

Usage: ${0##*/} [options]
  --stage N               first stage to run (default: ${stage})
  --stop_stage N          last stage to run (default: ${stop_stage})
  --train_dir DIR         training data dir (wav.scp, text, src_text)
  --valid_dir DIR         validation data dir (wav.scp, text, src_text)
  --test_sets "DIR ..."   test data dirs (wav.scp), space-separated
  --token_list FILE       ESPnet token list of the target text
  --bpemodel FILE         sentencepiece model of the target text
  --src_token_list FILE   token list of the source transcript (default: --token_list)
  --src_bpemodel FILE     sentencepiece model of the source transcript (default: --bpemodel)
  --exp_dir DIR           output directory
  --config FILE           st_train config
  --inference_config FILE st_inference config
  --inference_model NAME  model file in exp_dir to decode with (default: ${inference_model})
  --nj N                  statistics jobs (default: ${nj})
  --inference_nj N        decoding jobs per test dir (default: ${inference_nj})
  --ngpu N                GPUs for training (default: ${ngpu})
  --gpu_inference BOOL    decode on a GPU, one per job (default: ${gpu_inference})
  --max_epoch N           override the config's max_epoch
  --train_args "ARGS"     extra st_train options
  --inference_args "ARGS" extra st_inference options
  --speech_input WHAT     sound (wav.scp) or frames (feats.scp) (default: ${speech_input})
  --python PYTHON         python interpreter (default: ${python})
EOF
}

# log/die (timestamped, prefixed with this script's name)
# shellcheck disable=SC1091
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/utils/data_lib.sh"

while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --stage|--stop_stage|--train_dir|--valid_dir|--test_sets|--token_list|--bpemodel|--src_token_list|--src_bpemodel|--exp_dir|\
        --config|--inference_config|--inference_model|--nj|--inference_nj|--ngpu|--gpu_inference|--max_epoch|\
        --train_args|--inference_args|--speech_input|--python)
            [ $# -ge 2 ] || die "option '$1' needs a value (options: ${options})"
            printf -v "${1#--}" '%s' "$2"
            shift 2 ;;
        *) die "unknown option '$1' (options: ${options})" ;;
    esac
done

for v in stage stop_stage nj inference_nj ngpu; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v} must be a non-negative integer, got '${!v}'"
done
[[ "${gpu_inference}" =~ ^(true|false)$ ]] || die "--gpu_inference must be true or false, got '${gpu_inference}'"
[[ "${speech_input}" =~ ^(sound|frames)$ ]] || die "--speech_input must be sound or frames, got '${speech_input}'"
speech_spec() {  # speech_spec DIR: the speech of a data dir as ESPnet's loader reads it
    if [ "${speech_input}" = frames ]; then echo "$1/feats.scp,speech,kaldi_ark"; else echo "$1/wav.scp,speech,sound"; fi
}
speech_file() { if [ "${speech_input}" = frames ]; then echo "$1/feats.scp"; else echo "$1/wav.scp"; fi; }
[ -z "${max_epoch}" ] || [[ "${max_epoch}" =~ ^[0-9]+$ ]] || die "--max_epoch must be an integer, got '${max_epoch}'"
[ "${nj}" -ge 1 ] && [ "${inference_nj}" -ge 1 ] || die "--nj and --inference_nj must be >= 1"

if [ -f ./path.sh ]; then
    # shellcheck disable=SC1091
    . ./path.sh
fi

need_file() { [ -f "$1" ] || die "$1 not found ($2)"; }
need_opt() { [ -n "${!1}" ] || die "--$1 is required for stage ${2} (see --help)"; }

run_stage() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }


# split_keys SCP N OUT_PREFIX: write OUT_PREFIX.1 .. OUT_PREFIX.N, contiguous chunks of
# SCP's lines (so concatenating them in job order keeps SCP's order); echoes the real N
# (at most the number of lines).
split_keys() {
    local scp="$1" n="$2" prefix="$3" lines
    lines="$(wc -l < "${scp}")"
    [ "${lines}" -gt 0 ] || die "${scp} is empty"
    [ "${n}" -le "${lines}" ] || n="${lines}"
    rm -f "${prefix}".*
    awk -v n="${n}" -v lines="${lines}" -v prefix="${prefix}" '
        { job = int((NR - 1) * n / lines) + 1; print > (prefix "." job) }' "${scp}"
    echo "${n}"
}

# wait_jobs WHAT LOG_PATTERN PID...: wait for all, then die with the failed jobs' log tails.
wait_jobs() {
    local what="$1" logpat="$2" i=0 failed=() pid
    shift 2
    for pid in "$@"; do
        i=$((i + 1))
        wait "${pid}" || failed+=("${i}")
    done
    if [ "${#failed[@]}" -gt 0 ]; then
        for i in "${failed[@]}"; do
            echo "----- ${logpat//JOB/${i}} (last 30 lines) -----" >&2
            tail -n 30 "${logpat//JOB/${i}}" >&2 || true
        done
        die "${what}: job(s) ${failed[*]} failed; logs: ${logpat}"
    fi
}

# run_logged LOG CMD...: run CMD with all output to LOG; on failure print LOG's tail and die.
run_logged() {
    local logfile="$1"
    shift
    if ! "$@" >"${logfile}" 2>&1; then
        echo "----- ${logfile} (last 40 lines) -----" >&2
        tail -n 40 "${logfile}" >&2 || true
        die "failed: $1 ... (full log: ${logfile})"
    fi
}

stats_dir="${exp_dir%/}/stats"
text_opts=()
set_text_opts() {  # tokenizer and data options shared by statistics and training
    text_opts=(--token_type bpe --token_list "${token_list}" --bpemodel "${bpemodel}"
               --src_token_type bpe --src_token_list "${src_token_list:-${token_list}}"
               --src_bpemodel "${src_bpemodel:-${bpemodel}}")
    local mode d f
    for mode in train valid; do
        [ "${mode}" = train ] && d="${train_dir}" || d="${valid_dir}"
        text_opts+=(--${mode}_data_path_and_name_and_type "$(speech_spec "${d}")")
        for f in text src_text; do
            text_opts+=(--${mode}_data_path_and_name_and_type "${d}/${f},${f},text")
        done
    done
}

if run_stage 1 || run_stage 2; then
    for v in train_dir valid_dir token_list bpemodel exp_dir config; do need_opt "${v}" "1-2"; done
    for d in "${train_dir}" "${valid_dir}"; do
        for f in "$(basename "$(speech_file "${d}")")" text src_text; do
            need_file "${d}/${f}" "a train/valid data dir needs $(basename "$(speech_file "${d}")"), text, src_text"
        done
    done
    need_file "${token_list}" "--token_list"
    need_file "${bpemodel}" "--bpemodel"
    [ -z "${src_token_list}" ] || need_file "${src_token_list}" "--src_token_list"
    [ -z "${src_bpemodel}" ] || need_file "${src_bpemodel}" "--src_bpemodel"
    need_file "${config}" "--config"
    [ "$(tail -n 1 "${token_list}")" = "<sos/eos>" ] || die "${token_list}: the last token must be <sos/eos>"
    set_text_opts
fi

if run_stage 1; then
    logdir="${stats_dir}/logdir"
    log "Stage 1: collecting feature statistics and shapes of ${train_dir} and ${valid_dir} into ${stats_dir} (nj ${nj})"
    rm -rf "${stats_dir}"
    mkdir -p "${logdir}"
    _nj="$(split_keys "${train_dir}/wav.scp" "${nj}" "${logdir}/train.scp")"
    _vnj="$(split_keys "${valid_dir}/wav.scp" "${_nj}" "${logdir}/valid.scp")"
    [ "${_vnj}" -eq "${_nj}" ] || { _nj="${_vnj}"; split_keys "${train_dir}/wav.scp" "${_nj}" "${logdir}/train.scp" >/dev/null; }
    threads="$(threads_for "${_nj}")"
    pids=()
    for j in $(seq 1 "${_nj}"); do
        # The model is built here only to extract features: no global_mvn stats exist yet.
        OMP_NUM_THREADS="${threads}" "${python}" -m espnet_csst.bin.run_espnet st_train \
            --collect_stats true \
            --use_preprocessor true \
            --config "${config}" \
            --normalize none \
            "${text_opts[@]}" \
            --train_shape_file "${logdir}/train.scp.${j}" \
            --valid_shape_file "${logdir}/valid.scp.${j}" \
            --ngpu 0 \
            --output_dir "${logdir}/stats.${j}" \
            >"${logdir}/stats.${j}.log" 2>&1 &
        pids+=("$!")
    done
    wait_jobs "stage 1 (collect_stats)" "${logdir}/stats.JOB.log" "${pids[@]}"
    stats_inputs=()
    for j in $(seq 1 "${_nj}"); do stats_inputs+=(--input_dir "${logdir}/stats.${j}"); done
    run_logged "${logdir}/aggregate.log" "${python}" -m espnet_csst.bin.run_espnet aggregate_stats_dirs \
        "${stats_inputs[@]}" --output_dir "${stats_dir}"
    # token shapes with the vocabulary size appended, as ESPnet's st.sh does
    vocab="$(wc -l < "${token_list}")"
    src_vocab="$(wc -l < "${src_token_list:-${token_list}}")"
    for mode in train valid; do
        awk -v N="${vocab}" '{ print $0 "," N }' "${stats_dir}/${mode}/text_shape" > "${stats_dir}/${mode}/text_shape.bpe"
        awk -v N="${src_vocab}" '{ print $0 "," N }' "${stats_dir}/${mode}/src_text_shape" \
            > "${stats_dir}/${mode}/src_text_shape.bpe"
    done
    log "Stage 1: done: ${stats_dir}/train/feats_stats.npz, shapes in ${stats_dir}/{train,valid}/ (logs: ${logdir})"
fi

if run_stage 2; then
    need_file "${stats_dir}/train/feats_stats.npz" "run stage 1 first"
    epoch_opts=()
    [ -z "${max_epoch}" ] || epoch_opts=(--max_epoch "${max_epoch}")
    dist_opts=()
    [ "${ngpu}" -le 1 ] || dist_opts=(--multiprocessing_distributed true)
    log "Stage 2: training the peer ST model (${config}${max_epoch:+, max_epoch ${max_epoch}}) into ${exp_dir}; log: ${exp_dir%/}/train.log"
    mkdir -p "${exp_dir}"
    # shellcheck disable=SC2086
    run_logged "${exp_dir%/}/train.log" "${python}" -m espnet_csst.bin.run_espnet st_train \
        --use_preprocessor true \
        --config "${config}" \
        --normalize_conf "stats_file=${stats_dir}/train/feats_stats.npz" \
        "${text_opts[@]}" \
        --train_shape_file "${stats_dir}/train/speech_shape" \
        --train_shape_file "${stats_dir}/train/text_shape.bpe" \
        --train_shape_file "${stats_dir}/train/src_text_shape.bpe" \
        --valid_shape_file "${stats_dir}/valid/speech_shape" \
        --valid_shape_file "${stats_dir}/valid/text_shape.bpe" \
        --valid_shape_file "${stats_dir}/valid/src_text_shape.bpe" \
        --fold_length "$([ "${speech_input}" = frames ] && echo 800 || echo 80000)" --fold_length 150 --fold_length 150 \
        --resume true \
        --ngpu "${ngpu}" "${dist_opts[@]}" \
        --output_dir "${exp_dir}" \
        "${epoch_opts[@]}" ${train_args}
    log "Stage 2: done: $(grep -m1 -o 'Total Number of model parameters: .*' "${exp_dir%/}/train.log" || true); model files in ${exp_dir}"
fi

if run_stage 3; then
    for v in exp_dir test_sets inference_config; do need_opt "${v}" 3; done
    need_file "${inference_config}" "--inference_config"
    need_file "${exp_dir%/}/config.yaml" "run stage 2 first"
    model="${exp_dir%/}/${inference_model}"
    if [ ! -e "${model}" ]; then
        for m in valid.acc.ave.pth valid.acc.best.pth valid.loss.best.pth latest.pth; do
            if [ -e "${exp_dir%/}/${m}" ]; then
                log "Stage 3: ${model} not found; decoding with ${exp_dir%/}/${m}"
                model="${exp_dir%/}/${m}"
                break
            fi
        done
    fi
    [ -e "${model}" ] || die "no model file in ${exp_dir} (looked for ${inference_model}, valid.acc.{ave,best}.pth, valid.loss.best.pth, latest.pth)"
    [ "${gpu_inference}" = true ] && _ngpu=1 || _ngpu=0
    read -r -a tests <<< "${test_sets}"
    for test_dir in "${tests[@]}"; do
        need_file "$(speech_file "${test_dir}")" "a test data dir needs $(basename "$(speech_file "${test_dir}")")"
    done
    for test_dir in "${tests[@]}"; do
        name="$(basename "${test_dir%/}")"
        dec_dir="${exp_dir%/}/decode_${name}"
        logdir="${dec_dir}/logdir"
        log "Stage 3: decoding ${test_dir} with ${model} (${inference_nj} jobs) into ${dec_dir}/1best_recog"
        rm -rf "${dec_dir}"
        mkdir -p "${logdir}" "${dec_dir}/1best_recog"
        _nj="$(split_keys "${test_dir}/wav.scp" "${inference_nj}" "${logdir}/keys.scp")"
        threads="$(threads_for "${_nj}")"
        pids=()
        for j in $(seq 1 "${_nj}"); do
            # shellcheck disable=SC2086
            OMP_NUM_THREADS="${threads}" "${python}" -m espnet_csst.bin.run_espnet st_inference \
                --ngpu "${_ngpu}" \
                --batch_size 1 \
                --data_path_and_name_and_type "$(speech_spec "${test_dir}")" \
                --key_file "${logdir}/keys.scp.${j}" \
                --st_train_config "${exp_dir%/}/config.yaml" \
                --st_model_file "${model}" \
                --config "${inference_config}" \
                --output_dir "${logdir}/output.${j}" \
                ${inference_args} \
                >"${logdir}/st_inference.${j}.log" 2>&1 &
            pids+=("$!")
        done
        wait_jobs "stage 3 (st_inference on ${name})" "${logdir}/st_inference.JOB.log" "${pids[@]}"
        # Merge in wav.scp order; an utterance without hypothesis gets an empty line.
        for f in text token token_int score; do
            for j in $(seq 1 "${_nj}"); do
                part="${logdir}/output.${j}/1best_recog/${f}"
                [ ! -f "${part}" ] || cat "${part}"
            done > "${logdir}/${f}.all"
            awk -v what="${f}" 'NR == FNR { k = $1; hyp[k] = $0; next }
                { if ($1 in hyp) print hyp[$1]; else { print $1 " "; miss++ } }
                END { if (miss) printf "warning: %d utterance(s) without %s, written empty\n", miss, what > "/dev/stderr" }' \
                "${logdir}/${f}.all" "${test_dir}/wav.scp" > "${dec_dir}/1best_recog/${f}"
            rm -f "${logdir}/${f}.all"
        done
        log "Stage 3: wrote ${dec_dir}/1best_recog/{text,token,token_int,score} ($(wc -l < "${dec_dir}/1best_recog/text") utterances; logs: ${logdir})"
    done
fi

log "Finished stages ${stage}-${stop_stage}"
