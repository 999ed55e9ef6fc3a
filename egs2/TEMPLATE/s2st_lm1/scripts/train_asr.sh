#!/usr/bin/env bash
# The ASR of ASR-BLEU: an ESPnet CTC-only character ASR model (espnet2 asr_train), trained on the
# target-language speech of the S2ST training set; it also gives CTC word alignments (ctc_word_align).
#   stage 1: normalised transcripts and the char token list -> <exp_dir>/data/{train,valid}/, <exp_dir>/tokens.txt
#   stage 2: collect feature statistics and shapes         -> <exp_dir>/stats/{train,valid}/
#   stage 3: train                                         -> <exp_dir>/ (config.yaml, *.pth, train.log)
#   stage 4: pick the model file                           -> <exp_dir>/model.pth (symlink)
#   stage 5: decode and score the valid dir                -> <exp_dir>/decode_valid/{text,RESULTS.md}
# A data dir has wav.scp and text, or wav.scp.<lang> and text.<lang> (an S2ST dir).
# Run from the recipe directory (./path.sh is sourced when present).
set -euo pipefail

stage=1
stop_stage=5
train_dir=""
valid_dir=""
exp_dir=""
config=""            # asr_train config (e.g. conf/asr_ctc.yaml)
lang=en              # picks wav.scp.<lang>/text.<lang> when a dir has no wav.scp/text
nj=2                 # jobs for stage 2 (statistics)
ngpu=0
max_epoch=""         # overrides the config's max_epoch when given
train_args=""        # extra asr_train options, word-split (e.g. "--num_iters_per_epoch 10")
decode_batch_size=16
python=python

options="--stage --stop_stage --train_dir --valid_dir --exp_dir --config --lang --nj --ngpu --max_epoch --train_args --decode_batch_size --python"

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    cat <<EOF

Usage: ${0##*/} --train_dir DIR --valid_dir DIR --exp_dir DIR --config FILE [options]
  --stage N               first stage to run (default: ${stage})
  --stop_stage N          last stage to run (default: ${stop_stage})
  --train_dir DIR         training data dir (wav.scp + text, or wav.scp.<lang> + text.<lang>)
  --valid_dir DIR         validation data dir (same layout)
  --exp_dir DIR           output directory (e.g. exp/asr_en)
  --config FILE           asr_train config (e.g. conf/asr_ctc.yaml)
  --lang LANG             language of the speech (default: ${lang})
  --nj N                  statistics jobs (default: ${nj})
  --ngpu N                GPUs for training and decoding (default: ${ngpu})
  --max_epoch N           override the config's max_epoch
  --train_args "ARGS"     extra asr_train options
  --decode_batch_size N   batch size of the stage-5 decoding (default: ${decode_batch_size})
  --python PYTHON         python interpreter (default: ${python})
EOF
}

# log/die/threads_for (timestamped, prefixed with this script's name); parse_options
# shellcheck disable=SC1091
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/utils/data_lib.sh"
# shellcheck disable=SC1091
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/utils/stage_lib.sh"

parse_options "${options}" "$@"

for v in stage stop_stage nj ngpu decode_batch_size; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v} must be a non-negative integer, got '${!v}'"
done
[ -z "${max_epoch}" ] || [[ "${max_epoch}" =~ ^[0-9]+$ ]] || die "--max_epoch must be an integer, got '${max_epoch}'"
[ "${nj}" -ge 1 ] && [ "${decode_batch_size}" -ge 1 ] || die "--nj and --decode_batch_size must be >= 1"
[[ "${lang}" =~ ^[a-z]{2,3}$ ]] || die "--lang must be a language code like en, got '${lang}'"
[ -n "${exp_dir}" ] || die "--exp_dir is required (see --help)"

if [ -f ./path.sh ]; then
    # shellcheck disable=SC1091
    . ./path.sh
fi

need_file() { [ -f "$1" ] || die "$1 not found ($2)"; }
need_opt() { [ -n "${!1}" ] || die "--$1 is required for stage ${2} (see --help)"; }
run_stage() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }

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

# split_keys SCP N OUT_PREFIX: OUT_PREFIX.1 .. OUT_PREFIX.N, contiguous chunks of SCP; echoes the real N.
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

# source_file DIR NAME: DIR/NAME, else DIR/NAME.<lang> (the S2ST layout).
source_file() {
    if [ -f "$1/$2" ]; then echo "$1/$2"
    elif [ -f "$1/$2.${lang}" ]; then echo "$1/$2.${lang}"
    else die "$1 has neither $2 nor $2.${lang}"
    fi
}

exp_dir="${exp_dir%/}"
data_dir="${exp_dir}/data"
stats_dir="${exp_dir}/stats"
token_list="${exp_dir}/tokens.txt"

data_opts=()
set_data_opts() {  # tokenizer and data options shared by statistics and training
    data_opts=(--token_type char --token_list "${token_list}" --non_linguistic_symbols none --cleaner none --g2p none)
    local mode
    for mode in train valid; do
        data_opts+=(--${mode}_data_path_and_name_and_type "${data_dir}/${mode}/wav.scp,speech,sound"
                    --${mode}_data_path_and_name_and_type "${data_dir}/${mode}/text,text,text")
    done
}

if run_stage 1; then
    for v in train_dir valid_dir; do need_opt "${v}" 1; done
    log "Stage 1: normalising the ${lang} transcripts of ${train_dir} and ${valid_dir} (espnet_csst.bin.asr_ctc_decode.normalize_for_asr) into ${data_dir}/{train,valid}"
    for mode in train valid; do
        [ "${mode}" = train ] && d="${train_dir}" || d="${valid_dir}"
        wav="$(source_file "${d}" wav.scp)"
        text="$(source_file "${d}" text)"
        out="${data_dir}/${mode}"
        mkdir -p "${out}"
        "${python}" -m espnet_csst.bin.asr_ctc_decode --normalize_text "${text}" "${out}/text"
        # keep only utterances that have both audio and a non-empty transcript, in the text's order
        awk 'NR == FNR { wav[$1] = $0; next } ($1 in wav) { print wav[$1] }' "${wav}" "${out}/text" > "${out}/wav.scp.tmp"
        awk 'NR == FNR { ok[$1] = 1; next } ($1 in ok)' "${out}/wav.scp.tmp" "${out}/text" > "${out}/text.tmp"
        mv "${out}/wav.scp.tmp" "${out}/wav.scp"
        mv "${out}/text.tmp" "${out}/text"
        n_in="$(wc -l < "${wav}")"
        n_out="$(wc -l < "${out}/wav.scp")"
        [ "${n_out}" -gt 0 ] || die "${d}: no utterance has both audio (${wav}) and a transcript (${text})"
        [ "${n_out}" -eq "${n_in}" ] || log "Stage 1: ${mode}: dropped $((n_in - n_out)) of ${n_in} utterances of ${wav} (no transcript, or empty after normalisation)"
        log "Stage 1: ${mode}: ${n_out} utterances from ${wav} and ${text}"
    done
    log "Stage 1: building the character token list of ${data_dir}/train/text into ${token_list}"
    # as ESPnet's asr.sh: blank first, unknown second, sos/eos last
    run_logged "${exp_dir}/tokenize_text.log" "${python}" -m espnet_csst.bin.run_espnet tokenize_text \
        --token_type char \
        --input "${data_dir}/train/text" --output "${token_list}.tmp" \
        --field 2- \
        --non_linguistic_symbols none --cleaner none --g2p none \
        --write_vocabulary true \
        --add_symbol "<blank>:0" --add_symbol "<unk>:1" --add_symbol "<sos/eos>:-1"
    mv "${token_list}.tmp" "${token_list}"
    log "Stage 1: done: $(wc -l < "${token_list}") tokens in ${token_list}"
fi

if run_stage 2 || run_stage 3; then
    need_opt config "2-3"
    need_file "${config}" "--config"
    for mode in train valid; do
        for f in wav.scp text; do need_file "${data_dir}/${mode}/${f}" "run stage 1 first"; done
    done
    need_file "${token_list}" "run stage 1 first"
    set_data_opts
fi

if run_stage 2; then
    logdir="${stats_dir}/logdir"
    log "Stage 2: collecting feature statistics and shapes of ${data_dir}/{train,valid} into ${stats_dir} (nj ${nj})"
    rm -rf "${stats_dir}"
    mkdir -p "${logdir}"
    _nj="$(split_keys "${data_dir}/train/wav.scp" "${nj}" "${logdir}/train.scp")"
    _vnj="$(split_keys "${data_dir}/valid/wav.scp" "${_nj}" "${logdir}/valid.scp")"
    [ "${_vnj}" -eq "${_nj}" ] || { _nj="${_vnj}"; split_keys "${data_dir}/train/wav.scp" "${_nj}" "${logdir}/train.scp" >/dev/null; }
    threads="$(threads_for "${_nj}")"
    pids=()
    for j in $(seq 1 "${_nj}"); do
        # The model is built here only to extract features: no global_mvn stats exist yet.
        OMP_NUM_THREADS="${threads}" "${python}" -m espnet_csst.bin.run_espnet asr_train \
            --collect_stats true \
            --use_preprocessor true \
            --config "${config}" \
            --normalize none \
            "${data_opts[@]}" \
            --train_shape_file "${logdir}/train.scp.${j}" \
            --valid_shape_file "${logdir}/valid.scp.${j}" \
            --ngpu 0 \
            --output_dir "${logdir}/stats.${j}" \
            >"${logdir}/stats.${j}.log" 2>&1 &
        pids+=("$!")
    done
    failed=()
    for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("$((i + 1))"); done
    if [ "${#failed[@]}" -gt 0 ]; then
        for j in "${failed[@]}"; do
            echo "----- ${logdir}/stats.${j}.log (last 30 lines) -----" >&2
            tail -n 30 "${logdir}/stats.${j}.log" >&2 || true
        done
        die "stage 2 (collect_stats): job(s) ${failed[*]} failed; logs: ${logdir}/stats.JOB.log"
    fi
    stats_inputs=()
    for j in $(seq 1 "${_nj}"); do stats_inputs+=(--input_dir "${logdir}/stats.${j}"); done
    run_logged "${logdir}/aggregate.log" "${python}" -m espnet_csst.bin.run_espnet aggregate_stats_dirs \
        "${stats_inputs[@]}" --output_dir "${stats_dir}"
    # token shapes with the vocabulary size appended, as ESPnet's asr.sh does
    vocab="$(wc -l < "${token_list}")"
    for mode in train valid; do
        awk -v N="${vocab}" '{ print $0 "," N }' "${stats_dir}/${mode}/text_shape" > "${stats_dir}/${mode}/text_shape.char"
    done
    log "Stage 2: done: ${stats_dir}/train/feats_stats.npz, shapes in ${stats_dir}/{train,valid}/ (logs: ${logdir})"
fi

if run_stage 3; then
    need_file "${stats_dir}/train/feats_stats.npz" "run stage 2 first"
    epoch_opts=()
    [ -z "${max_epoch}" ] || epoch_opts=(--max_epoch "${max_epoch}")
    dist_opts=()
    [ "${ngpu}" -le 1 ] || dist_opts=(--multiprocessing_distributed true)
    # An absolute statistics path: config.yaml keeps it, and decoding may run from another directory.
    stats_file="$(readlink -f "${stats_dir}/train/feats_stats.npz")"
    log "Stage 3: training the CTC ASR model (${config}${max_epoch:+, max_epoch ${max_epoch}}) into ${exp_dir}; log: ${exp_dir}/train.log"
    # shellcheck disable=SC2086
    run_logged "${exp_dir}/train.log" "${python}" -m espnet_csst.bin.run_espnet asr_train \
        --use_preprocessor true \
        --config "${config}" \
        --normalize_conf "stats_file=${stats_file}" \
        "${data_opts[@]}" \
        --train_shape_file "${stats_dir}/train/speech_shape" \
        --train_shape_file "${stats_dir}/train/text_shape.char" \
        --valid_shape_file "${stats_dir}/valid/speech_shape" \
        --valid_shape_file "${stats_dir}/valid/text_shape.char" \
        --fold_length 80000 --fold_length 150 \
        --resume true \
        --ngpu "${ngpu}" "${dist_opts[@]}" \
        --output_dir "${exp_dir}" \
        "${epoch_opts[@]}" ${train_args}
    log "Stage 3: done: $(grep -m1 -o 'Total Number of model parameters: .*' "${exp_dir}/train.log" || true); model files in ${exp_dir}"
fi

if run_stage 4; then
    need_file "${exp_dir}/config.yaml" "run stage 3 first"
    # With ctc_weight 1.0 ESPnet reports no acc: the criterion is valid cer_ctc (then loss).
    picked=""
    for m in valid.cer_ctc.ave.pth valid.cer_ctc.best.pth valid.loss.ave.pth valid.loss.best.pth latest.pth; do
        if [ -e "${exp_dir}/${m}" ]; then picked="${m}"; break; fi
    done
    [ -n "${picked}" ] || die "no model file in ${exp_dir} (looked for valid.cer_ctc.{ave,best}.pth, valid.loss.{ave,best}.pth, latest.pth)"
    # relative link: the experiment directory stays usable when moved
    ln -sfn "$(readlink "${exp_dir}/${picked}" || echo "${picked}")" "${exp_dir}/model.pth.tmp"
    mv -T "${exp_dir}/model.pth.tmp" "${exp_dir}/model.pth"
    log "Stage 4: ${exp_dir}/model.pth -> ${picked} ($(readlink "${exp_dir}/model.pth"))"
fi

if run_stage 5; then
    need_file "${exp_dir}/model.pth" "run stage 4 first"
    for mode in valid; do need_file "${data_dir}/${mode}/text" "run stage 1 first"; done
    dec_dir="${exp_dir}/decode_valid"
    mkdir -p "${dec_dir}"
    [ "${ngpu}" -gt 0 ] && device=cuda || device=cpu
    log "Stage 5: greedy CTC decoding of ${data_dir}/valid/wav.scp with ${exp_dir}/model.pth into ${dec_dir}/text"
    run_logged "${dec_dir}/decode.log" "${python}" -m espnet_csst.bin.asr_ctc_decode \
        --asr_config "${exp_dir}/config.yaml" --asr_model "${exp_dir}/model.pth" \
        --wav_scp "${data_dir}/valid/wav.scp" --out "${dec_dir}/text" \
        --batch_size "${decode_batch_size}" --device "${device}"
    run_logged "${dec_dir}/score.log" "${python}" -m espnet_csst.bin.score_results \
        --results_dir "${dec_dir}" --system "$(basename "${exp_dir}")" --test_set valid --task asr \
        --hyp "${dec_dir}/text" --ref "${data_dir}/valid/text" --decode_dir "${dec_dir}"
    scores="$(awk '$2 == "valid" && ($3 == "WER" || $3 == "CER") { printf "%s %s%%  ", $3, $4 }' "${dec_dir}/score.log")"
    log "Stage 5: done: ${scores}($(grep -c . "${dec_dir}/text.failed" || true) failed; table: ${dec_dir}/RESULTS.md)"
fi

log "Finished stages ${stage}-${stop_stage}"
