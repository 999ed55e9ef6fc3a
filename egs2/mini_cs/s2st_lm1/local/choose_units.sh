#!/usr/bin/env bash
# Choose the unit features on dev (issue 22 item 2). For each candidate:
#   1. k-means, the unit dump of the training and dev sets and the vocoder: s2st.sh stages 4-6
#      with the recipe's settings, into exp/unit_study/<name>/ and dump/unit_study/<name>/;
#   2. the resynthesis ceiling: the reference dev units through that vocoder, transcribed by the
#      ASR judge (as s2st.sh stage 10 does for the recipe's ceilings);
#   3. with --unit_lm_system X: system X's unit LM on those units (s2st.sh stages 8-9 from the
#      recipe's pre-trained LLM, exp/llm_pretrain): its teacher-forced unit accuracy on dev, and its
#      decoded dev units through the vocoder and the judge (its dev ASR-BLEU).
# Then one table, exp/unit_study/results.md (python -m espnet_csst.bin.score_unit_study), with
# the ceiling, frames per unit run, how alike two occurrences of a word are in units, the unit
# LM's accuracy and ASR-BLEU, and each candidate's cost. A finished step is not redone: the
# script resumes where it stopped (delete exp/unit_study/<name> and dump/unit_study/<name> to
# redo a candidate).
#   local/choose_units.sh                                     # the default candidates, ceilings only
#   local/choose_units.sh --candidates "mfcc_k200 whisper4_k200" --unit_lm_system c
# Candidates are named <features>_k<K>: mfcc (the recipe's: 13 MFCCs + deltas, 4 frames averaged:
# 40 ms) or whisper<L> (block L of the packaged Whisper base, 2 frames averaged: 40 ms); one
# inventory serves both sides. <source>+<target>, e.g. whisper4_k200+mfcc_k200, gives the source
# speech its own units (s2st.sh --src_n_units): the target's k-means then learns from target audio only.
# Needs ./run.sh --stage 1 --stop_stage 2 first (data, token list, pretrained/whisper_base), and
# with --unit_lm_system also stage 3 (the LLM).
set -euo pipefail
script="$(readlink -f "$0")"
cd "$(dirname "${script}")/.."

candidates="mfcc_k200 whisper2_k200 whisper4_k200 whisper6_k200"
unit_lm_system=""         # a, b, c or d: also train that system's unit LM per candidate (empty: ceilings only)
valid_set=s2st_dev
whisper=pretrained/whisper_base
judge_args="--backend ctranslate2 --beam_size 4 --max_tokens_per_second 6"   # as run.sh
run_opts=""               # more ./run.sh options for every call, e.g. "--vocoder_args '--steps 300'" or, for
                          #   another seed of the unit LM, "--train_args '--seed 1 --model_conf seed=1'"
study_exp=exp/unit_study  # where the candidates' models and the table go (another seed: another dir)
study_dump=dump/unit_study

usage() { sed -n '2,22p' "${script}" | sed 's/^# \{0,1\}//'; echo "options: --candidates --unit_lm_system --valid_set --whisper --judge_args --run_opts --study_exp --study_dump"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --candidates) candidates="$2"; shift 2 ;;
        --unit_lm_system) unit_lm_system="$2"; shift 2 ;;
        --valid_set) valid_set="$2"; shift 2 ;;
        --whisper) whisper="$2"; shift 2 ;;
        --judge_args) judge_args="$2"; shift 2 ;;
        --run_opts) run_opts="$2"; shift 2 ;;
        --study_exp) study_exp="$2"; shift 2 ;;
        --study_dump) study_dump="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "${0##*/}: error: unknown option '$1'" >&2; usage >&2; exit 1 ;;
    esac
done

. ./scripts/utils/data_lib.sh
. ./path.sh
eval "extra_opts=(${run_opts})"  # shell-parsed, so that quoted values stay whole

inventory_re='(mfcc|whisper[0-9]+)_k[0-9]+'
for name in ${candidates}; do  # every name checked before anything runs
    [[ "${name}" =~ ^(${inventory_re}\+)?${inventory_re}$ ]] ||
        die "candidate '${name}': expected mfcc_k<K>, whisper<layer>_k<K> or <source>+<target>, e.g. whisper4_k200+mfcc_k200"
done
[[ -z "${unit_lm_system}" || "${unit_lm_system}" =~ ^[abcd]$ ]] ||
    die "--unit_lm_system takes a, b, c, d or nothing, got '${unit_lm_system}'"
[ -f "data/${valid_set}/wav.scp.en" ] || die "data/${valid_set} is missing: run ./run.sh --stage 1 --stop_stage 2 first"
[ -e "${whisper}/config.json" ] || die "${whisper} is missing: ./run.sh --stage 1 --stop_stage 1 links the packaged Whisper base"
if [ -n "${unit_lm_system}" ]; then
    [ -f exp/llm_pretrain/llm.pth ] || die "exp/llm_pretrain/llm.pth is missing: run ./run.sh --stage 2 --stop_stage 3 first"
fi

# inventory_options <features>_k<K>: "feature_type feature_conf K" of that unit inventory (3 lines)
inventory_options() {
    [[ "$1" =~ ^(mfcc|whisper([0-9]+))_k([0-9]+)$ ]]
    local layer="${BASH_REMATCH[2]}" k="${BASH_REMATCH[3]}"
    if [ -z "${layer}" ]; then
        printf '%s\n' mfcc "{}" "${k}"
    else
        printf '%s\n' whisper "$(python -c 'import json, sys; print(json.dumps({"path": sys.argv[1], "layer": int(sys.argv[2])}))' \
            "${whisper}" "${layer}")" "${k}"
    fi
}

# set_candidate NAME: the s2st.sh unit options of a candidate -> unit_opts
set_candidate() {
    local name="$1" tgt="${1#*+}" opts
    mapfile -t opts < <(inventory_options "${tgt}")
    unit_opts=(--feature_type "${opts[0]}" --feature_conf "${opts[1]}" --n_units "${opts[2]}" --src_n_units 0)
    if [[ "${name}" == *+* ]]; then  # the source's own inventory
        mapfile -t opts < <(inventory_options "${name%%+*}")
        unit_opts+=(--src_feature_type "${opts[0]}" --src_feature_conf "${opts[1]}" --src_n_units "${opts[2]}")
    fi
}

# vocode_and_judge UNITS DIR: UNITS through the candidate's vocoder (${exp}/vocoder) into DIR,
# then the ASR judge -> DIR/asr_text (logs: DIR.vocode.log, DIR.asr.log)
vocode_and_judge() {
    local units="$1" dir="$2"
    mkdir -p "${dir}"
    python -m espnet_csst.bin.unit_vocode --vocoder_dir "${exp}/vocoder" --units "${units}" --out_dir "${dir}" \
        > "${dir}.vocode.log" 2>&1 || die "vocoding failed; see ${dir}.vocode.log"
    # shellcheck disable=SC2086
    python -m espnet_csst.bin.asr_whisper_decode --model "${whisper}" --language en ${judge_args} \
        --wav_scp "${dir}/wav.scp" --out "${dir}/asr_text" > "${dir}.asr.log" 2>&1 ||
        die "transcribing failed; see ${dir}.asr.log"
}

score_args=()
for name in ${candidates}; do
    exp="${study_exp}/${name}" dump="${study_dump}/${name}"
    set_candidate "${name}"
    # dev only (--test_sets ""): test is never looked at while choosing
    common=(--expdir "${exp}" --dumpdir "${dump}" --test_sets "" --valid_set "${valid_set}"
            "${unit_opts[@]}" "${extra_opts[@]}")
    if [ -f "${exp}/vocoder/model.pth" ]; then
        log "${name}: units and vocoder already in ${exp}"
    else
        log "${name}: k-means, unit dump, vocoder (s2st.sh stages 4-6) -> ${exp}, ${dump}"
        ./run.sh --stage 4 --stop_stage 6 "${common[@]}"
    fi
    ref="${exp}/reference/${valid_set}/units_vocoded"
    if [ -s "${ref}/asr_text" ]; then
        log "${name}: resynthesis already transcribed in ${ref}/asr_text"
    else
        log "${name}: reference ${valid_set} units -> vocoder -> the judge -> ${ref}/asr_text"
        vocode_and_judge "${dump}/units/${valid_set}/tgt_units" "${ref}"
    fi
    if [ -n "${unit_lm_system}" ]; then
        if [ -f "${exp}/unit_lm_${unit_lm_system}/decode_${valid_set}/unit_acc" ]; then
            log "${name}: unit LM ${unit_lm_system} already decoded"
        else
            mkdir -p "${exp}"
            ln -sfn "$(pwd)/exp/llm_pretrain" "${exp}/llm_pretrain"  # every candidate starts from the same LLM
            log "${name}: unit LM of system ${unit_lm_system} (s2st.sh stages 8-9) -> ${exp}/unit_lm_${unit_lm_system}"
            ./run.sh --stage 8 --stop_stage 9 --systems "${unit_lm_system}" "${common[@]}"
        fi
        synth="${exp}/unit_lm_${unit_lm_system}/decode_${valid_set}/synth"
        if [ -s "${synth}/asr_text" ]; then
            log "${name}: unit LM ${unit_lm_system}'s ${valid_set} units already vocoded and transcribed"
        else
            log "${name}: unit LM ${unit_lm_system}'s ${valid_set} units -> vocoder -> the judge -> ${synth}/asr_text"
            vocode_and_judge "${synth%/synth}/1best_recog/units" "${synth}"
        fi
    fi
    score_args+=(--candidate "${name}" "${exp}" "${dump}")
done

python -m espnet_csst.bin.score_unit_study "${score_args[@]}" --set "${valid_set}" --tgt_lang en \
    --unit_lm_system "${unit_lm_system:-auto}" --out "${study_exp}/results.md" \
    --command "local/choose_units.sh --candidates \"${candidates}\"${unit_lm_system:+ --unit_lm_system ${unit_lm_system}}${run_opts:+ --run_opts \"${run_opts}\"}$([ "${study_exp}" = exp/unit_study ] || echo " --study_exp ${study_exp} --study_dump ${study_dump}") on $(uname -n): $(nproc) CPU core(s) of $(cpu_model), $(date -u '+%Y-%m-%d')"
log "table: ${study_exp}/results.md"
