# The record of finished runs, for the scripts that train one system many times over seeds
# (local/run_ablation.sh, local/tune_transition.sh): RUNS_DIR/<name>/seed<k>/, kept in git
# beside RESULTS.json. exp/ and dump/ last as long as the checkout, such a script runs longer
# than a working session, and the paired significance test rereads every seed's hypotheses;
# so each finished run leaves what its rows are scored from (hypotheses, routing and layer
# metrics, training seconds), the settings it ran with and the machine, and a later run, in
# this checkout or a fresh clone, rescores it instead of training it again (doc/moe.md).
# Sourced after data_lib.sh (log, die).

record_dir() { echo "$1/$2/seed$3"; }  # record_dir RUNS_DIR NAME SEED

# record_check_settings DIR SETTINGS: stop when the run recorded in DIR ran with other settings
# (SETTINGS: the text that record_finish wrote, built the same way today)
record_check_settings() {
    printf '%s\n' "$2" | cmp -s - "$1/settings.txt" && return 0
    die "$1 was trained with other settings than today's (< today, > recorded):
$(printf '%s\n' "$2" | diff - "$1/settings.txt" | grep '^[<>]')
Move $1 away to train it again."
}

# record_keep_ref RUNS_DIR SET FILE: SET's references, kept once; other references mean another corpus
record_keep_ref() {
    local kept="$1/refs/$2"
    [ -f "$3" ] || return 0
    if [ -f "${kept}" ]; then
        cmp -s "${kept}" "$3" || die "$3 differs from ${kept}: the corpus is not the one the recorded runs \
($1/) were scored on; run with the corpus options they used, or move $1 away"
    else
        mkdir -p "$1/refs"
        cp "$3" "${kept}.tmp" && mv "${kept}.tmp" "${kept}"
    fi
}

# record_begin DIR: an empty folder to fill (DIR.partial), moved into place by record_finish
record_begin() {
    rm -rf "$1.partial"
    mkdir -p "$1.partial"
    echo "$1.partial"
}

# record_finish DIR SETTINGS: the settings and the machine, then DIR.partial -> DIR in one step
record_finish() {
    printf '%s\n' "$2" > "$1.partial/settings.txt"
    {
        echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "cpu: $(nproc) core(s) of $(cpu_model)"
        # model_conf.cpu_bf16: auto trains in bf16 where either is there, else in fp32
        echo "bf16 autocast with cpu_bf16 auto: $(grep -qE 'amx_tile|avx512_bf16' /proc/cpuinfo && echo yes || echo no)"
        echo "commit: $(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
    } > "$1.partial/machine.txt"
    mv -T "$1.partial" "$1"
    log "recorded: $1"
}

# record_log DIR: one line on a recorded run that is only rescored
record_log() {
    log "$1 is recorded ($(sed -n 's/^date: //p' "$1/machine.txt"), $(sed -n 's/^cpu: //p' "$1/machine.txt")):" \
        "scoring only"
}

# record_sha256 FILE...: "sha256 FILE: <digest>" a line each, for the settings
record_sha256() {
    local f
    for f in "$@"; do echo "sha256 ${f}: $(sha256sum < "${f}" | cut -d' ' -f1)"; done
}

# record_recipe_call_sha256: run.sh's corpus and budgets, i.e. its csst.sh call without the comments
record_recipe_call_sha256() {
    echo "sha256 of run.sh's csst.sh call: $(sed -n '/^\.\/csst\.sh/,$p' run.sh | grep -v '^ *#' | sha256sum | cut -d' ' -f1)"
}
