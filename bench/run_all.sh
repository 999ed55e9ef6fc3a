#!/usr/bin/env bash
# Regenerate every section of bench/RESULTS.md (about 10 minutes on 2 CPU cores).
#   bench/run_all.sh            # all benchmarks, in the order below
#   bench/run_all.sh decode     # only those whose name contains "decode"
# Each script writes its own section (machine, date, command); this prints the time of each.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
python="${PYTHON:-python}"
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && python=.venv/bin/python
filter="${1:-}"
logdir="${TMPDIR:-/tmp}/espnet_csst_bench"
mkdir -p "${logdir}"

benches=(
    "bench_mini_corpus.py"   # corpus generation, --nj 1 and 2
    "bench_data.py"          # data loading, feature extraction
    "bench_train.py"         # training throughput + memory vs ESPnet's ST model; MoE, OT ratios
    "bench_moe.py"           # MoE step vs linear, batched dispatch vs token-by-token
    "bench_ot.py"            # OT step vs none, batched Sinkhorn vs per-utterance loop
    "bench_cpu_bf16.py"      # CPU bf16 autocast vs fp32 training steps
    "bench_decode.py"        # decoding: batch 1/16, KV cache, greedy/beam 4 vs st_inference
    "bench_whisper.py"       # the default on Whisper frames vs ESPnet ST on them: cache, training, decoding
    "bench_judge.py"         # the ASR judge: transformers vs CTranslate2 (needs the mini S2ST recipe's stage 1)
    "profile_hot_paths.py"   # torch.profiler tables and the fix's before/after
)
start=$(date +%s)
for b in "${benches[@]}"; do
    [[ -z "${filter}" || "${b}" == *"${filter}"* ]] || continue
    t0=$(date +%s)
    echo "==== ${b}"
    log="${logdir}/${b%.py}.log"
    "${python}" "bench/${b}" > "${log}" 2>&1 || { echo "${b} failed; see ${log}" >&2; exit 1; }
    echo "     done in $(( $(date +%s) - t0 )) s (log: ${log})"
done
echo "all done in $(( $(date +%s) - start )) s; results: bench/RESULTS.md"
