#!/usr/bin/env bash
# Speech-to-speech translation with an LLM over discrete units, trained on scheduled
# interleaved speech-text sequences (DESIGN.md 3.4). Run from a recipe dir via its run.sh.
# Stages (--stage N --stop_stage M):
#   1  data         local/data.sh: S2ST data dirs (wav.scp.<lang>, text.<lang>, word_ali.<lang>) -> data/
#   2  token list   sentencepiece on the LLM text and the transcripts                -> data/token_list/
#   3  LLM text pre-training: source text -> target text (skipped for a pretrained LLM) -> exp/llm_pretrain/
#   4  k-means      unit features of the training audio (both sides), k-means       -> exp/units/kmeans.npz
#                   (--src_n_units > 0: the target's k-means, and the source's own    -> exp/units/src_kmeans.npz)
#   5  dump units   units + word spans of every set and side, length filter          -> dump/units/<set>/
#   6  vocoder      unit -> speech vocoder on the training target speech            -> exp/vocoder/
#   7  ASR          --asr_judge whisper: nothing to train (a pretrained Whisper judges);
#                   --asr_judge ctc: a CTC ASR on the training target speech (for ASR-BLEU) -> exp/asr_<tgt>/
#   8  train        the unit LM of every system in --systems (a-d, below)           -> exp/unit_lm_<sys>/
#   9  decode       target units from pure source units (batched, KV cache)          -> exp/unit_lm_<sys>/decode_<set>/
#  10  synthesize   vocoder + the ASR judge on the decoded units, the reference units and
#                   the reference audio (the two ceilings)                           -> .../decode_<set>/{wav,asr}/
#  11  score        ASR-BLEU (sacrebleu), unit accuracy; listening page              -> RESULTS.md, RESULTS.json,
#                                                                                       exp/listen/index.md
#  12  pack         unit LM of --pack_system + k-means + vocoder, one zip (Speech2Speech) -> exp/unit_lm_<sys>/packed.zip
# Systems (the ablation): a: pure units throughout; b: interleaving at a constant ratio;
# c: the scheduled interleaving of the config; d: c on the source side only.
set -euo pipefail

SCRIPTS="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scripts"
# shellcheck disable=SC1091
. "${SCRIPTS}/utils/data_lib.sh"
# shellcheck disable=SC1091
. "${SCRIPTS}/utils/stage_lib.sh"

# ---- options (all settable as --name value) ------------------------------------------
stage=1
stop_stage=12
nj=2                      # parallel jobs for data preparation
ngpu=0                    # GPUs per training process group: > 1 runs ESPnet's DDP on this node
train_launcher=""         # multi-node / external launcher for unit_lm_train (stage 8), replacing "${python}", e.g.
                          #   "torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint host0:29500"
                          #   (then --ngpu 1: one GPU per process), as csst.sh's --train_launcher
gpu_inference=false       # decode the unit LM on a GPU, as ESPnet's --gpu_inference (vocoder, ASR: a GPU when present)
python=python
local_data_opts=""        # passed to local/data.sh
dumpdir=dump
expdir=exp
src_lang=es
tgt_lang=en
train_set=s2st_train
valid_set=s2st_dev
test_sets="s2st_test"
lm_text=""                # LLM pre-training text: "task|src_file|tgt_file|weight ..." (task s2st_es_en)
token_type=bpe            # bpe (recipe sentencepiece) or hugging_face (a pretrained LLM's tokenizer)
hf_tokenizer=""           # hugging_face: tokenizer dir or hub name
vocab_size=1000
bpe_type=unigram
llm_pretrain_args=""      # e.g. "--steps 600"
feature_type=mfcc         # unit features: mfcc, fbank, hf_ssl (--feature_conf path=<local HuBERT dir>) or
                          #   whisper (a Whisper encoder layer at the audio's length, 40 ms frames by default)
feature_conf=""           # JSON, e.g. '{"stack": 4}', '{"path": "/models/hubert", "layer": 6}' or
                          #   '{"path": "pretrained/whisper_base", "layer": 4}'
n_units=200               # k-means clusters = unit tokens added to the LLM
src_n_units=0             # > 0: the source speech gets its own k-means of this many units (LLM tokens after the
                          #   target's), on --src_feature_type features; 0: one k-means over both sides' audio
src_feature_type=""       # --src_n_units > 0: the source units' features (empty: --feature_type)
src_feature_conf=""       # --src_n_units > 0: their JSON options (empty: --feature_conf)
kmeans_portion=0.5        # share of the training utterances whose frames k-means learns from
dedup=false               # merge repeated consecutive units (the vocoder then learns their durations)
max_units=300             # drop training/validation pairs whose source + target units exceed this
src_align_asr=""          # corpora without word_ali.<src>: ESPnet CTC ASR dir (config.yaml, model.pth)
tgt_align_asr=""          #   whose CTC forced alignment gives the word times; else that side is not interleaved
vocoder_type=mel_gl       # mel_gl (log-mel + Griffin-Lim, CPU-cheap) or hifigan (unit HiFi-GAN, real data)
vocoder_config=""         # YAML of vocoder model options (train_unit_vocoder --config)
vocoder_args=""           # extra train_unit_vocoder options, e.g. "--steps 2000"
asr_judge=whisper         # ASR-BLEU's ASR: whisper (a pretrained Whisper, --judge_model; as the S2ST literature)
                          #   or ctc (the recipe's own CTC ASR, trained in stage 7 on the target speech)
judge_model=pretrained/whisper_base  # whisper: a transformers Whisper dir or hub name (e.g. openai/whisper-small);
                          #   the mini recipe's local/data.sh links the packaged OpenAI Whisper base here
judge_args=""             # extra asr_whisper_decode options, e.g. "--beam_size 4" or "--batch_size 16"
asr_config=conf/asr_ctc.yaml
asr_args=""               # ctc: extra asr_train options, e.g. "--max_epoch 20"
asr_exp=""                # ctc: a trained ESPnet ASR dir (config.yaml, model.pth) instead of stage 7
train_config=conf/train_unit_lm.yaml
train_args=""             # extra unit_lm_train options for every system
systems="c"               # which of a b c d to train (run.sh: all four)
system_a="--model_conf interleave_schedule=none"
system_b="--model_conf interleave_schedule=constant --model_conf interleave_p0=0.5"
system_c=""
system_d="--model_conf interleave_tgt=false"
inference_config=conf/decode_unit_lm.yaml
inference_model=valid.acc.best.pth
n_listen=6                # test utterances on the listening page
pack_system=c             # stage 12 packs this system (the method, by default)

# ---- end options
options="$(sed -n '/^# ---- options/,/^# ---- end options/p' "$0" | grep -oE '^[a-z_A-Z]+=' | tr -d = | sed 's/^/--/' | tr '\n' ' ')"

usage() { print_usage "$0" 2 22; }

parse_options "${options}" "$@"
[[ "${token_type}" =~ ^(bpe|hugging_face)$ ]] || die "--token_type must be bpe or hugging_face, got '${token_type}'"
[ "${token_type}" = bpe ] || [ -n "${hf_tokenizer}" ] || die "--token_type hugging_face needs --hf_tokenizer"
for v in stage stop_stage nj ngpu vocab_size n_units src_n_units max_units n_listen; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v} must be a non-negative integer, got '${!v}'"
done
for s in ${systems}; do
    [[ "${s}" =~ ^[abcd]$ ]] || die "--systems takes a, b, c and d, got '${s}'"
done
[[ "${pack_system}" =~ ^[abcd]$ ]] || die "--pack_system takes a, b, c or d, got '${pack_system}'"
[[ "${dedup}" =~ ^(true|false)$ ]] || die "--dedup must be true or false, got '${dedup}'"
[[ "${gpu_inference}" =~ ^(true|false)$ ]] || die "--gpu_inference must be true or false, got '${gpu_inference}'"
[[ "${asr_judge}" =~ ^(whisper|ctc)$ ]] || die "--asr_judge must be whisper or ctc, got '${asr_judge}'"
[[ "${vocoder_type}" =~ ^(mel_gl|hifigan)$ ]] || die "--vocoder_type must be mel_gl or hifigan, got '${vocoder_type}'"
[ -z "${vocoder_config}" ] || [ -f "${vocoder_config}" ] || die "--vocoder_config ${vocoder_config}: no such file"
[ -f ./path.sh ] && . ./path.sh

times_file="${expdir}/stage_times.tsv"
token_dir="data/token_list/bpe_${bpe_type}${vocab_size}"
[ "${token_type}" = hugging_face ] && token_dir="data/token_list/hugging_face"
token_list="${token_dir}/tokens.txt"
bpemodel="${token_dir}/bpe.model"
[ "${token_type}" = hugging_face ] && bpemodel="${hf_tokenizer}"
llm_dir="${expdir}/llm_pretrain"
units_dir="${expdir}/units"
kmeans_tgt="${units_dir}/kmeans.npz"
kmeans_src="${kmeans_tgt}"  # one inventory for both sides unless --src_n_units
[ "${src_n_units}" -eq 0 ] || kmeans_src="${units_dir}/src_kmeans.npz"
units_dump="${dumpdir}/units"
vocoder_dir="${expdir}/vocoder"
asr_dir="${asr_exp:-${expdir}/asr_${tgt_lang}}"
eval_sets="${valid_set} ${test_sets}"
all_sets="${train_set} ${eval_sets}"
task_spec="s2st ${src_lang} ${tgt_lang}"

pretrained_llm() { config_has_pretrained_llm "${train_config}"; }  # then no text pre-training
lm_text_files() {  # the source and target files of --lm_text
    local spec task src tgt weight
    for spec in ${lm_text}; do
        IFS='|' read -r task src tgt weight <<< "${spec}"
        echo "${src} ${tgt}"
    done
}
system_args() { local v="system_$1"; echo "${!v}"; }
judge_name() {  # the ASR judge as RESULTS.md names it
    if [ "${asr_judge}" = whisper ]; then
        if [ -z "${judge_args}" ]; then
            echo "Whisper ${judge_model} (${tgt_lang} transcription, greedy, 30 s window)"
        else
            echo "Whisper ${judge_model} (${tgt_lang} transcription, asr_whisper_decode ${judge_args})"
        fi
    else
        echo "the recipe's ${tgt_lang} CTC ASR (${asr_dir})"
    fi
}
check_judge_model() {  # a local judge that is missing: say how to make it
    [ "${asr_judge}" = whisper ] || return 0
    if [ ! -e "${judge_model}" ] && [[ "${judge_model}" =~ ^(/|\./|\.\./|pretrained/) ]]; then
        die "--judge_model ${judge_model} does not exist: local/data.sh makes pretrained/whisper_base (./run.sh --stage 1 --stop_stage 1), or give a transformers Whisper dir or hub name"
    fi
}

if run_stage 1 "data preparation"; then
    log "local/data.sh ${local_data_opts} -> data/"
    # shell-parse the options so that quoted values (--corpus_opts '--n_s2st_train 50') stay whole
    eval "data_opts=(${local_data_opts})"
    ./local/data.sh --nj "${nj}" "${data_opts[@]}"
    end_stage
fi

if run_stage 2 "token list"; then
    if [ "${token_type}" = bpe ]; then
        # shellcheck disable=SC2046
        ${python} -m espnet_csst.bin.make_token_list --token_type bpe --out "${token_dir}" \
            --vocab_size "${vocab_size}" --bpe_type "${bpe_type}" --languages "${src_lang}" "${tgt_lang}" \
            --kaldi_text "data/${train_set}/text.${src_lang}" "data/${train_set}/text.${tgt_lang}" \
            --text $(lm_text_files)
    else
        ${python} -m espnet_csst.bin.make_token_list --token_type hugging_face --tokenizer "${hf_tokenizer}" \
            --out "${token_dir}"
    fi
    log "token list: ${token_list}"
    end_stage
fi

if run_stage 3 "LLM text pre-training"; then
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
        mkdir -p "${llm_dir}"
        log "training the LLM on text -> ${llm_dir} (log: ${llm_dir}/train.log)"
        # shellcheck disable=SC2086
        ${python} -m espnet_csst.bin.llm_pretrain --config "${train_config}" --token_list "${token_list}" \
            --bpemodel "${bpemodel}" "${pair_args[@]}" --out "${llm_dir}" ${llm_pretrain_args} \
            2>&1 | tee "${llm_dir}/train.log" | { grep --line-buffered -E "step|wrote|task|LLM" || true; } ||
            die "LLM pre-training failed; see ${llm_dir}/train.log"  # pipefail: the trainer's exit status
        [ -f "${llm_dir}/llm.pth" ] || die "LLM pre-training wrote no ${llm_dir}/llm.pth; see ${llm_dir}/train.log"
    fi
    end_stage
fi

# learn_unit_kmeans NAME K FEATURE_TYPE FEATURE_CONF WAV_SCP...: k-means of K clusters on the features
# of --kmeans_portion of the given audio -> ${units_dir}/NAME
learn_unit_kmeans() {
    local name="$1" k="$2" ftype="$3" fconf="$4" feats="${units_dir}/feats_${1%.npz}"
    shift 4
    local feat_args=(--feature_type "${ftype}") wav_args=() scp
    [ -z "${fconf}" ] || feat_args+=(--feature_conf "${fconf}")
    for scp in "$@"; do wav_args+=(--wav_scp "${scp}"); done
    log "${ftype} features of ${kmeans_portion} of $* -> ${feats}"
    ${python} -m espnet_csst.bin.dump_unit_feats "${wav_args[@]}" --out_dir "${feats}" \
        --portion "${kmeans_portion}" "${feat_args[@]}"
    log "k-means with ${k} clusters -> ${units_dir}/${name}"
    ${python} -m espnet_csst.bin.learn_kmeans --feats_scp "${feats}/feats.scp" \
        --n_clusters "${k}" --out "${units_dir}/${name}"
    rm -rf "${feats}"  # only the centroids are needed from here on
}

if run_stage 4 "unit k-means"; then
    src_wav="data/${train_set}/wav.scp.${src_lang}" tgt_wav="data/${train_set}/wav.scp.${tgt_lang}"
    if [ "${src_n_units}" -eq 0 ]; then  # one inventory: learnt from both sides' speech
        learn_unit_kmeans kmeans.npz "${n_units}" "${feature_type}" "${feature_conf}" "${src_wav}" "${tgt_wav}"
    else
        learn_unit_kmeans kmeans.npz "${n_units}" "${feature_type}" "${feature_conf}" "${tgt_wav}"
        learn_unit_kmeans src_kmeans.npz "${src_n_units}" "${src_feature_type:-${feature_type}}" \
            "${src_feature_conf:-${feature_conf}}" "${src_wav}"
    fi
    end_stage
fi

if run_stage 5 "dump units"; then
    for dset in ${all_sets}; do
        out="${units_dump}/${dset}"
        mkdir -p "${out}/raw"
        for side in src tgt; do
            lang="${src_lang}"; [ "${side}" = tgt ] && lang="${tgt_lang}"
            ali="data/${dset}/word_ali.${lang}"
            align_asr="${side}_align_asr"; align_asr="${!align_asr}"
            if [ ! -f "${ali}" ] && [ -n "${align_asr}" ]; then
                ali="${out}/raw/word_ali.${lang}"
                log "${dset} ${side}: word times by CTC forced alignment with ${align_asr} -> ${ali}"
                ${python} -m espnet_csst.bin.ctc_word_align --asr_config "${align_asr}/config.yaml" \
                    --asr_model "${align_asr}/model.pth" --wav_scp "data/${dset}/wav.scp.${lang}" \
                    --text "data/${dset}/text.${lang}" --out "${ali}" --lang "${lang}"
            fi
            ali_args=(--word_ali "${ali}" --out_word_frames "${out}/raw/${side}_word_frames")
            if [ ! -f "${ali}" ]; then
                log "warning: ${ali} missing and no --${side}_align_asr: the ${side} side of ${dset} is not interleaved"
                ali_args=()
            fi
            dedup_args=(--dedup "${dedup}")  # deduplicated units keep their run lengths for the vocoder
            [ "${dedup}" = false ] || dedup_args+=(--out_durations "${out}/raw/${side}_durations")
            kmeans="kmeans_${side}"; kmeans="${!kmeans}"
            log "${dset} ${side} (${lang}): units of ${kmeans} and word spans -> ${out}/raw/${side}_units"
            ${python} -m espnet_csst.bin.dump_units --kmeans "${kmeans}" \
                --wav_scp "data/${dset}/wav.scp.${lang}" "${ali_args[@]}" \
                --out "${out}/raw/${side}_units" "${dedup_args[@]}"
        done
        max_opt=()  # training and validation sequences must fit the LLM; test sets keep everything
        [ "${dset}" = "${train_set}" ] || [ "${dset}" = "${valid_set}" ] && max_opt=(--max_units "${max_units}")
        ${python} -m espnet_csst.bin.make_unit_dump --data_dir "data/${dset}" --raw_dir "${out}/raw" \
            --out_dir "${out}" --task "${task_spec}" --tgt_lang "${tgt_lang}" --kmeans "${kmeans_tgt}" \
            "${max_opt[@]}"
    done
    end_stage
fi

if run_stage 6 "vocoder"; then
    log "${vocoder_type} unit vocoder on ${units_dump}/${train_set} target speech -> ${vocoder_dir}" \
        "(log: ${vocoder_dir}/train.log.txt)"
    mkdir -p "${vocoder_dir}"
    voc_args=(--vocoder_type "${vocoder_type}")
    [ -z "${vocoder_config}" ] || voc_args+=(--config "${vocoder_config}")
    if [ "${dedup}" = true ]; then  # deduplicated units: the vocoder learns their durations
        voc_args+=(--durations "${units_dump}/${train_set}/tgt_durations"
                   --valid_durations "${units_dump}/${valid_set}/tgt_durations")
    fi
    # shellcheck disable=SC2086
    ${python} -m espnet_csst.bin.train_unit_vocoder --units "${units_dump}/${train_set}/tgt_units" \
        --wav_scp "${units_dump}/${train_set}/tgt_wav.scp" --n_units "${n_units}" \
        --unit_hop "$(cat "${units_dump}/${train_set}/unit_hop")" \
        --valid_units "${units_dump}/${valid_set}/tgt_units" --valid_wav_scp "${units_dump}/${valid_set}/tgt_wav.scp" \
        --out_dir "${vocoder_dir}" "${voc_args[@]}" ${vocoder_args} 2>&1 | tee "${vocoder_dir}/train.log.txt" |
        { grep --line-buffered -E "step|wrote|drop" || true; } ||
        die "vocoder training failed; see ${vocoder_dir}/train.log.txt"  # pipefail: the trainer's exit status
    [ -f "${vocoder_dir}/model.pth" ] || die "vocoder training wrote no ${vocoder_dir}/model.pth; see ${vocoder_dir}/train.log.txt"
    end_stage
fi

if run_stage 7 "ASR for ASR-BLEU"; then
    if [ "${asr_judge}" = whisper ]; then
        check_judge_model
        log "--asr_judge whisper: $(judge_name) judges ASR-BLEU; no ASR to train"
    elif [ -n "${asr_exp}" ]; then
        log "using the given ASR model in ${asr_exp}"
    else
        for dset in ${train_set} ${valid_set}; do
            d="${dumpdir}/asr_${tgt_lang}/${dset}"
            mkdir -p "${d}"
            # from data/, not the unit dump: a corpus without word times aligns with this ASR in stage 5
            cp "data/${dset}/wav.scp.${tgt_lang}" "${d}/wav.scp"
            cp "data/${dset}/text.${tgt_lang}" "${d}/text"
            # ESPnet's ASR loader passes no sample rate on: audio not mono 16 kHz is converted here
            ${python} -m espnet_csst.bin.convert_audio_dir --fs 16000 "${d}"
        done
        # shellcheck disable=SC2086
        "${SCRIPTS}/train_asr.sh" --train_dir "${dumpdir}/asr_${tgt_lang}/${train_set}" \
            --valid_dir "${dumpdir}/asr_${tgt_lang}/${valid_set}" --exp_dir "${asr_dir}" \
            --config "${asr_config}" --lang "${tgt_lang}" --nj "${nj}" --ngpu "${ngpu}" \
            --train_args "${asr_args}" --python "${python}"
    fi
    end_stage
fi

unit_data_args() {  # unit_data_args PREFIX DIR: data options of unit_lm_train for a dump dir
    local p="$1" d="$2" name
    for name in src_units tgt_units; do echo "--${p}_data_path_and_name_and_type ${d}/${name},${name},text_int"; done
    for name in src_word_frames tgt_word_frames task; do  # a side without word times: no word_frames
        if [ -f "${d}/${name}" ]; then echo "--${p}_data_path_and_name_and_type ${d}/${name},${name},text"; fi
    done
    echo "--${p}_shape_file ${d}/src_units_shape"
}

if run_stage 8 "train unit LM systems (${systems})"; then
    init_args=()
    if ! pretrained_llm; then
        [ -f "${llm_dir}/llm.pth" ] || die "${llm_dir}/llm.pth is missing: run stage 3 first"
        ${python} -m espnet_csst.bin.extend_llm_vocab --config "${train_config}" --token_list "${token_list}" \
            --n_units "${n_units}" --n_src_units "${src_n_units}" --llm "${llm_dir}/llm.pth" \
            --out "${expdir}/unit_lm_init/llm.pth"
        init_args=(--init_param "${expdir}/unit_lm_init/llm.pth::llm")
    fi
    launch=("${python}")
    if [ -n "${train_launcher}" ]; then  # the launcher starts the processes: ESPnet's external-launcher mode
        read -r -a launch <<< "${train_launcher}"
        init_args+=(--multiprocessing_distributed false)
    fi
    for sys in ${systems}; do
        sdir="${expdir}/unit_lm_${sys}"
        log "system ${sys} ($(system_args "${sys}")) -> ${sdir} (log: ${sdir}/train.log)"
        mkdir -p "${sdir}"
        t0=$(date +%s)
        # shellcheck disable=SC2046,SC2086
        "${launch[@]}" -m espnet_csst.bin.unit_lm_train --config "${train_config}" --token_list "${token_list}" \
            --token_type "${token_type}" --bpemodel "${bpemodel}" --n_units "${n_units}" --n_src_units "${src_n_units}" \
            --ngpu "${ngpu}" --output_dir "${sdir}" \
            $(unit_data_args train "${units_dump}/${train_set}") $(unit_data_args valid "${units_dump}/${valid_set}") \
            --resume true "${init_args[@]}" $(system_args "${sys}") ${train_args} \
            > "${sdir}/train.log" 2>&1 || die "training system ${sys} failed; see ${sdir}/train.log"
        echo "$(( $(date +%s) - t0 ))" > "${sdir}/train_seconds"
        grep -E "\[valid\]" "${sdir}/train.log" | tail -n 1 || true
    done
    end_stage
fi

if run_stage 9 "decode"; then
    for sys in ${systems}; do
        sdir="${expdir}/unit_lm_${sys}"
        for dset in ${eval_sets}; do
            out="${sdir}/decode_${dset}"
            log "system ${sys}: ${dset} -> ${out}/1best_recog/units"
            ${python} -m espnet_csst.bin.unit_lm_inference --config "${inference_config}" \
                --train_config "${sdir}/config.yaml" --model_file "${sdir}/${inference_model}" \
                --data_path_and_name_and_type "${units_dump}/${dset}/src_units,src_units,text_int" \
                --data_path_and_name_and_type "${units_dump}/${dset}/task,task,text" \
                --data_path_and_name_and_type "${units_dump}/${dset}/tgt_units,tgt_units,text_int" \
                --ngpu "$([ "${gpu_inference}" = true ] && echo 1 || echo 0)" --output_dir "${out}" > "${out}.log" 2>&1 ||
                die "decoding ${dset} with system ${sys} failed; see ${out}.log"
        done
    done
    end_stage
fi

if run_stage 10 "synthesize and transcribe"; then
    # One vocoder process and one ASR process for everything (each loads its model once):
    # the reference units (ceiling 1) and every system's decoded units of every set are vocoded,
    # then the vocoded audio and the reference audio (ceiling 2) are transcribed.
    vocode_args=() transcribe_args=()
    for dset in ${eval_sets}; do
        ref="${expdir}/reference/${dset}"
        mkdir -p "${ref}/units_vocoded" "${ref}/audio"
        log "${dset}: ceilings: reference units through the vocoder, reference audio -> ${ref}"
        vocode_args+=(--units "${units_dump}/${dset}/tgt_units" --out_dir "${ref}/units_vocoded")
        transcribe_args+=(--wav_scp "${ref}/units_vocoded/wav.scp" --out "${ref}/units_vocoded/asr_text"
                   --wav_scp "${units_dump}/${dset}/tgt_wav.scp" --out "${ref}/audio/asr_text")
        for sys in ${systems}; do
            out="${expdir}/unit_lm_${sys}/decode_${dset}"
            log "system ${sys}: ${dset}: vocoder + ASR -> ${out}/synth"
            mkdir -p "${out}/synth"
            vocode_args+=(--units "${out}/1best_recog/units" --out_dir "${out}/synth")
            transcribe_args+=(--wav_scp "${out}/synth/wav.scp" --out "${out}/synth/asr_text")
        done
    done
    synth_log="${expdir}/reference/synthesize.log"
    ${python} -m espnet_csst.bin.unit_vocode --vocoder_dir "${vocoder_dir}" "${vocode_args[@]}" \
        > "${synth_log%.log}.vocode.log" 2>&1 || die "vocoding failed; see ${synth_log%.log}.vocode.log"
    log "transcribing with $(judge_name) (log: ${synth_log%.log}.asr.log)"
    if [ "${asr_judge}" = whisper ]; then
        check_judge_model
        # shellcheck disable=SC2086
        ${python} -m espnet_csst.bin.asr_whisper_decode --model "${judge_model}" --language "${tgt_lang}" \
            ${judge_args} "${transcribe_args[@]}" > "${synth_log%.log}.asr.log" 2>&1 ||
            die "ASR of the vocoded and reference audio failed; see ${synth_log%.log}.asr.log"
    else
        ${python} -m espnet_csst.bin.asr_ctc_decode --asr_config "${asr_dir}/config.yaml" \
            --asr_model "${asr_dir}/model.pth" "${transcribe_args[@]}" > "${synth_log%.log}.asr.log" 2>&1 ||
            die "ASR of the vocoded and reference audio failed; see ${synth_log%.log}.asr.log"
    fi
    log "audio and ASR transcripts: <dir>/wav.scp and <dir>/asr_text (logs: ${synth_log%.log}.{vocode,asr}.log)"
    end_stage
fi

rerender_results() {  # RESULTS.md/json from the scored rows, with the latest stage times
    ${python} -m espnet_csst.bin.score_s2st --render_only --results_dir . --expdir "${expdir}" \
        --valid_set "${valid_set}" --test_sets ${test_sets} --timings "${times_file}" --n_listen "${n_listen}"
}

if run_stage 11 "score"; then
    sys_args=()
    for sys in ${systems}; do sys_args+=(--system "${sys}=${expdir}/unit_lm_${sys}"); done
    ${python} -m espnet_csst.bin.score_s2st --results_dir . --expdir "${expdir}" --units_dump "${units_dump}" \
        --tgt_lang "${tgt_lang}" --valid_set "${valid_set}" --test_sets ${test_sets} "${sys_args[@]}" \
        --timings "${times_file}" --n_listen "${n_listen}" --judge "$(judge_name)" \
        --command "./run.sh (egs2/TEMPLATE/s2st_lm1/s2st.sh, stages ${stage}-${stop_stage}) on $(uname -n): $(nproc) CPU core(s) of $(cpu_model), ngpu ${ngpu}, $(date -u '+%Y-%m-%d')"
    end_stage
    rerender_results  # the wall-time table now has this stage's own time
fi

if run_stage 12 "pack"; then
    sdir="${expdir}/unit_lm_${pack_system}"
    src_kmeans_args=()
    [ "${src_n_units}" -eq 0 ] || src_kmeans_args=(--src_kmeans "${kmeans_src}")
    ${python} -m espnet_csst.bin.pack_s2st --model_dir "${sdir}" --model_file "${inference_model}" \
        --kmeans "${kmeans_tgt}" "${src_kmeans_args[@]}" --vocoder_dir "${vocoder_dir}" --out "${sdir}/packed.zip"
    end_stage
    # the table gets the pack's time only where this --expdir was scored (stage 11): packing from
    # another expdir (a unit study's) must not put its stage times into the recipe's RESULTS.md
    if [ -f RESULTS.json ] && grep -q "^11	" "${times_file}" 2>/dev/null; then rerender_results; fi
fi

log "Successfully finished stages ${stage}-${stop_stage}"
