# Shell helpers shared by the recipes' local/data.sh (sourced from the recipe directory).

log() { echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${0##*/}) $*"; }
die() { echo "${0##*/}: error: $*" >&2; exit 1; }

# cpu_model: the CPU's name and whether it has the bf16 matrix units that decide whether bf16
# autocast pays (model_conf cpu_bf16: auto); results and records name it, as timings depend on it
cpu_model() {
    local name flags
    name="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
    flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
    has() { grep -qw "$1" <<< "${flags}" && echo yes || echo no; }
    echo "${name:-$(uname -m)} (AMX: $(has amx_bf16), AVX512-BF16: $(has avx512_bf16))"
}

# require_db NAME WHAT [SPECIAL]: one clear line when the db.sh variable NAME is empty or
# names a path that does not exist; WHAT says what to set it to. A value equal to
# SPECIAL (e.g. "derive") is accepted without being a path.
require_db() {
    local name="$1" what="$2" special="${3:-}" value
    value="${!name:-}"
    [ -n "${value}" ] || die "${name} is empty in db.sh; set it to ${what}"
    [ -n "${special}" ] && [ "${value}" = "${special}" ] && return 0
    [ -e "${value}" ] || die "${name}='${value}' (db.sh) does not exist; set it to ${what}"
}

# install_validated_dirs TMP: fix (drop and report inconsistent utterances) and validate
# every data dir in TMP, then move them into data/ (replacing older versions); nothing
# reaches data/ unless all of them are valid. Audio is not reopened here: the corpus
# preparation modules already read every audio header for utt2dur.
install_validated_dirs() {
    local tmp="$1" d name
    for d in "${tmp}"/*/; do
        log "checking $(basename "${d}")"
        python -m espnet_csst.bin.fix_data_dir --no_audio "${d%/}"
        python -m espnet_csst.bin.validate_data_dir --no_audio "${d%/}"
    done
    mkdir -p data
    for d in "${tmp}"/*/; do
        name="$(basename "${d}")"
        rm -rf "data/.${name}.old"
        if [ -e "data/${name}" ]; then mv "data/${name}" "data/.${name}.old"; fi
        mv "${d%/}" "data/${name}"
        rm -rf "data/.${name}.old"
        log "wrote data/${name} ($(wc -l < "data/${name}/utt2spk") utterances)"
    done
}

# Threads per job when N jobs share this machine (unless OMP_NUM_THREADS is already set).
threads_for() {
    local ncpu
    ncpu="$(nproc 2>/dev/null || echo 1)"
    echo "${OMP_NUM_THREADS:-$(( ncpu / $1 > 0 ? ncpu / $1 : 1 ))}"
}

# same_task_data DUMP_A DUMP_B TASK_DIR...: whether two dump dirs' task dirs hold the same
# utterances, audio, texts, tasks, languages and replay marks (what a trained stage depends on)
same_task_data() {
    local a="$1" b="$2" st f
    shift 2
    for st in "$@"; do
        for f in wav.scp text task src_text lang_ali replay; do
            [ ! -e "${a}/raw/${st}/${f}" ] && [ ! -e "${b}/raw/${st}/${f}" ] && continue
            cmp -s "${a}/raw/${st}/${f}" "${b}/raw/${st}/${f}" || return 1
        done
    done
}
