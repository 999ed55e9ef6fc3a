# Stage-script helpers shared by csst.sh and s2st.sh (sourced after data_lib.sh).

# parse_options "${options}" "$@": --name value pairs into the variables of the same names;
# an unknown option fails with the list. `usage` must be defined by the caller.
parse_options() {
    local options="$1" name
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --*)
                name="${1#--}"
                if ! [[ " ${options} " == *" --${name} "* ]]; then
                    die "unknown option '$1'. Options: ${options}"
                fi
                [ $# -ge 2 ] || die "option '$1' needs a value"
                printf -v "${name}" '%s' "$2"
                shift 2 ;;
            *) die "unexpected argument '$1' (options look like --name value). Options: ${options}" ;;
        esac
    done
}

# Stage timing: ${times_file} keeps the latest wall time of every stage
# (stage<TAB>name<TAB>seconds<TAB>start<TAB>end), read by the scoring stage.
run_stage() {  # run_stage N NAME: true when stage N is selected; starts its clock
    local n="$1" name="$2"
    if [ "${stage}" -le "${n}" ] && [ "${stop_stage}" -ge "${n}" ]; then
        stage_n="${n}"; stage_name="${name}"; stage_start=$(date +%s.%N)
        log "==== Stage ${n}: ${name} ===="
        return 0
    fi
    return 1
}
end_stage() {
    local end secs
    end=$(date +%s.%N)
    secs=$(awk -v a="${stage_start}" -v b="${end}" 'BEGIN{printf "%.1f", b-a}')
    mkdir -p "$(dirname "${times_file}")"
    # the lock: a background stage may write here too
    (
        flock 9
        { [ -f "${times_file}" ] && awk -F'\t' -v n="${stage_n}" '$1 != n' "${times_file}"
          printf '%s\t%s\t%s\t%s\t%s\n' "${stage_n}" "${stage_name}" "${secs}" "${stage_start}" "${end}"
        } | sort -n -k1,1 > "${times_file}.tmp"
        mv "${times_file}.tmp" "${times_file}"
    ) 9> "${times_file}.lock"
    log "Stage ${stage_n} (${stage_name}) done in ${secs} s"
}

# print_usage SCRIPT FIRST LAST: the script's header comment lines FIRST-LAST, then every
# option between the "# ---- options" and "# ---- end options" markers with its default
# and trailing comment.
print_usage() {
    sed -n "$2,$3p" "$1" | sed 's/^# \{0,1\}//'
    echo
    echo "Options (default in brackets):"
    sed -n '/^# ---- options/,/^# ---- end options/p' "$1" | grep -E '^[a-z_A-Z]+=' |
        sed -E 's/^([a-z_A-Z]+)=("[^"]*"|[^ ]*) *(# *)?(.*)$/  --\1 [\2] \4/'
}

# config_has_pretrained_llm CONFIG: true when the training config names a pretrained LLM
# (llm_conf.model_name_or_path), which needs no text pre-training.
config_has_pretrained_llm() {
    ${python:-python} - "$1" <<'PYEOF'
import sys, yaml
conf = yaml.safe_load(open(sys.argv[1], encoding="utf-8")) or {}
sys.exit(0 if (conf.get("llm_conf") or {}).get("model_name_or_path") else 1)
PYEOF
}

# config_caches_frontend CONFIG: true when the training config's frontend is a pretrained model
# (whisper_hf) that is frozen at least from the input to some block (finetune_top below its
# layer count): those frames are computed once (csst.sh stage 6); trained top blocks run on them.
config_caches_frontend() {
    ${python:-python} - "$1" <<'PYEOF'
import sys, yaml
from espnet_csst.frontends.whisper import frontend_conf_is_cacheable
conf = yaml.safe_load(open(sys.argv[1], encoding="utf-8")) or {}
sys.exit(0 if conf.get("frontend") == "whisper_hf" and frontend_conf_is_cacheable(conf.get("frontend_conf") or {}) else 1)
PYEOF
}

# check_projector_languages CONFIG LANG...: fails, naming the fix, when the training config's
# MoE projector has no expert group for one of the corpus's languages (--languages).
check_projector_languages() {
    ${python:-python} - "$@" <<'PYEOF'
import sys, yaml
path, langs = sys.argv[1], sys.argv[2:]
conf = yaml.safe_load(open(path, encoding="utf-8")) or {}
if conf.get("projector") != "moe":
    sys.exit(0)
groups = (conf.get("projector_conf") or {}).get("languages")
if groups is None:  # the class default
    from espnet_csst.projectors.moe import MoEProjector
    groups = list(MoEProjector.default_languages)
missing = [lang for lang in langs if lang not in groups]
if missing:
    sys.exit(f"{path}: projector_conf.languages is {groups}, but --languages has {missing}: "
             f"set projector_conf.languages to [{', '.join(langs)}] (one expert group per language)")
PYEOF
}
