"""Profile: where a CSST training step and a greedy decode spend their time (torch.profiler).

    python bench/profile_hot_paths.py [--steps 3]

Profiles, with random weights and the mini recipe's MoE model
(``conf/train_csst.yaml``): ``--steps`` training steps (batch 12 x 3.6 s,
forward + backward + AdamW) and the greedy decoding of 4 utterances at batch 1
(50 tokens each). Writes the top operators by self CPU time into the ``profile`` section of
bench/RESULTS.md: training, and decoding before and after the fix the
decoding profile led to (bf16 autocast only from 16 hypotheses per step;
before, every decoding batch was autocast, and at batch 1 the casts and the
bf16 kernels on tiny matrices cost more than they gained), with its
before/after timing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from torch.profiler import ProfilerActivity, profile

from bench_decode import CSSTDecoder, build_csst, run_batches, utterances
from bench_moe import step_fn
from bench_train import build_model, full_batch
from espnet_csst.models import csst_model
from results_md import header, write_section


def top_ops(fn, n: int) -> tuple:
    fn()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return [(e.key, e.self_cpu_time_total / 1e3, 100 * e.self_cpu_time_total / total, e.count)
            for e in events[:n]], total / 1e3


def table(rows, total_ms: float) -> list:
    out = [f"total self CPU time {total_ms:.0f} ms", "", "| operator | self CPU (ms) | share | calls |",
           "|---|---:|---:|---:|"]
    out += [f"| `{name}` | {ms:.1f} | {share:.1f}% | {calls} |" for name, ms, share, calls in rows]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--top", type=int, default=8)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model, keys, _ = build_model("moe", Path(tmp))
    batch = full_batch(12, 3.6)
    step = step_fn(model, {k: batch[k] for k in keys})

    def train_steps():
        for _ in range(args.steps):
            step()

    train_rows, train_total = top_ops(train_steps, args.top)
    decoder_model, _ = build_csst()
    dec = CSSTDecoder(decoder_model, 50)
    wavs = utterances(4)
    threshold = csst_model.BF16_MIN_DECODE_ROWS
    csst_model.BF16_MIN_DECODE_ROWS = 1  # before the fix: autocast whatever the batch
    before_rows, before_total = top_ops(lambda: [dec([w]) for w in wavs], args.top)
    before = run_batches(dec, wavs, 1)
    csst_model.BF16_MIN_DECODE_ROWS = threshold
    decode_rows, decode_total = top_ops(lambda: [dec([w]) for w in wavs], args.top)
    after = run_batches(dec, wavs, 1)
    print(f"greedy batch-1 decoding of 4 utterances: {before:.2f} s before, {after:.2f} s after", flush=True)

    lines = [
        *header("## Profile of the hot paths (torch.profiler) and the fix it led to", "profile_hot_paths.py",
                sys.argv[1:]),
        "- model: egs2/mini_cs/csst1/conf/train_csst.yaml (MoE, CPU bf16 autocast), random weights",
        "",
        f"### {args.steps} training steps, batch 12 x 3.6 s",
        "",
        *table(train_rows, train_total),
        "",
        "### greedy decoding, 4 utterances at batch 1, 50 tokens each: before the fix (bf16 autocast)",
        "",
        *table(before_rows, before_total),
        "",
        "### the same after the fix (fp32 below 16 hypotheses per step)",
        "",
        *table(decode_rows, decode_total),
        "",
        "| fix | before (s) | after (s) | speed-up |",
        "|---|---:|---:|---:|",
        f"| decoding autocasts to bf16 only from {threshold} hypotheses per step (greedy, batch 1, 4 utterances) "
        f"| {before:.2f} | {after:.2f} | {before / after:.2f}x |",
    ]
    print(write_section("profile", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
