"""Benchmark: a training step with the OT alignment loss (AI-STA) against one without, and batched Sinkhorn.

    python bench/bench_ot.py [--steps 10]

Builds the mini recipe's model (``egs2/mini_cs/csst1/conf/train_csst.yaml``)
twice with the same random weights, once as it is and once with the OT loss on
(``ot_weight`` 0.5 at two LLM layers, csst.sh's default ``--align_top_k 2``,
with the default ``ot_eps`` and ``ot_max_iter``), and times forward + backward +
AdamW on the same batch shaped like the mini corpus, alternating the two.
Target (issue 5): the OT step costs at most 1.3x. Also times the OT cost of a
padded batch of 16 utterances solved at once (POT's batched log-domain
Sinkhorn, ``ot_alignment_cost``) against the same solver called once per
utterance, and against POT's ``ot.sinkhorn2`` per utterance. Target: batched
at least 5x faster than the per-utterance loop. Writes a markdown table into
bench/RESULTS.md between the ``ot`` markers.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import ot
import torch
import yaml

from bench_cpu_bf16 import build, ids
from bench_moe import make_batch, step_fn, timed
from espnet_csst.losses.ot_align import cost_matrix, ot_alignment_cost
from espnet_csst.models.csst_model import resolve_cpu_bf16
from results_md import machine, write_section

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "egs2/mini_cs/csst1/conf/train_csst.yaml"


def sinkhorn_batch(b: int, dim: int, seed: int = 0):
    """A padded batch like the mini model's: 20-40 speech tokens, 15-35 transcript tokens."""
    g = torch.Generator().manual_seed(seed)
    n = torch.randint(20, 41, (b,), generator=g)
    m = torch.randint(15, 36, (b,), generator=g)
    return (torch.randn(b, int(n.max()), dim, generator=g), n, torch.randn(b, int(m.max()), dim, generator=g), m)


def per_utterance(fn, s, n, t, m):
    return [fn(s[i:i + 1, :n[i]], n[i:i + 1], t[i:i + 1, :m[i]], m[i:i + 1]) for i in range(s.size(0))]


def pot_sinkhorn2(s, n, t, m):
    cost = cost_matrix(s, n, t, m)[0]
    a, b = torch.full((int(n),), 1.0 / int(n)), torch.full((int(m),), 1.0 / int(m))
    return ot.sinkhorn2(a, b, cost, 0.1, method="sinkhorn_log", numItermax=100, stopThr=1e-5)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch_size", type=int, default=12)
    p.add_argument("--seconds", type=float, default=3.6, help="utterance length (the mini corpus mean)")
    p.add_argument("--layers", default="2,3", help="the OT layers (two, as csst.sh selects by default)")
    args = p.parse_args(argv)
    conf = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    layers = [int(x) for x in args.layers.split(",")]
    vocab = 1000
    batch = make_batch(args.batch_size, args.seconds, vocab)
    batch["src_llm"], batch["src_llm_lengths"] = ids(args.batch_size, 25, vocab - 1)
    bf16 = resolve_cpu_bf16((conf.get("model_conf") or {}).get("cpu_bf16", False))
    variants = {"no OT": {}, "OT": {"ot_weight": 0.5, "ot_layers": layers}}
    steps = {}
    for name, extra in variants.items():
        c = dict(conf, model_conf={**(conf.get("model_conf") or {}), **extra})
        model = build(c, vocab, 150, bf16).train()
        steps[name] = step_fn(model, batch)
        steps[name]()  # warm-up
    times = {name: [] for name in variants}
    for _ in range(args.steps):  # alternate: both models see the same machine state
        for name in variants:
            times[name].append(timed(steps[name]))
    med = {name: statistics.median(t) for name, t in times.items()}
    ratio = med["OT"] / med["no OT"]
    print(f"step: without OT {med['no OT']:.3f} s, with OT {med['OT']:.3f} s, ratio {ratio:.2f}", flush=True)

    dim = conf["llm_conf"]["config"]["hidden_size"]
    s, n, t, m = sinkhorn_batch(16, dim)
    reps = max(5, 2 * args.steps)
    for fn in (ot_alignment_cost, pot_sinkhorn2):  # warm-up
        per_utterance(fn, s, n, t, m)
    ot_alignment_cost(s, n, t, m)
    batched, looped, pot_loop = [], [], []
    for _ in range(reps):  # alternate, as for the steps
        batched.append(timed(lambda: ot_alignment_cost(s, n, t, m)))
        looped.append(timed(lambda: per_utterance(ot_alignment_cost, s, n, t, m)))
        pot_loop.append(timed(lambda: per_utterance(pot_sinkhorn2, s, n, t, m)))
    batched, looped, pot_loop = (statistics.median(x) for x in (batched, looped, pot_loop))
    same = torch.allclose(ot_alignment_cost(s, n, t, m), torch.cat(per_utterance(ot_alignment_cost, s, n, t, m)),
                          atol=1e-5)
    print(f"sinkhorn, batch 16: batched {batched * 1e3:.1f} ms, per utterance {looped * 1e3:.1f} ms, "
          f"ot.sinkhorn2 per utterance {pot_loop * 1e3:.1f} ms (same costs: {same})", flush=True)

    cmd = "python bench/bench_ot.py " + " ".join(sys.argv[1:])
    lines = [
        "## OT alignment loss (AI-STA): training step with and without it, batched Sinkhorn",
        "",
        f"- machine: {machine()}, torch {torch.__version__}, POT {ot.__version__}, {torch.get_num_threads()} threads",
        f"- date: {datetime.date.today().isoformat()}",
        f"- command: `{cmd}`",
        f"- model: egs2/mini_cs/csst1/conf/train_csst.yaml; OT weight 0.5 at LLM layers {layers}, eps 0.1, "
        f"at most 100 Sinkhorn iterations; batch {args.batch_size} x {args.seconds} s, transcripts of 25 tokens; "
        f"median of {args.steps} alternating steps (forward + backward + AdamW)",
        "",
        "| measurement | without OT | with OT | ratio | target |",
        "|---|---:|---:|---:|---:|",
        f"| training step (s) | {med['no OT']:.3f} | {med['OT']:.3f} | {ratio:.2f}x | <= 1.3x |",
        "",
        f"| OT cost of 16 utterances (20-40 x 15-35 states of width {dim}) | time (ms) | speed-up |",
        "|---|---:|---:|",
        f"| ot.sinkhorn2 (log domain), one call per utterance | {pot_loop * 1e3:.1f} | {pot_loop / batched:.1f}x slower |",
        f"| ot_alignment_cost, one call per utterance | {looped * 1e3:.1f} | 1.00x |",
        f"| ot_alignment_cost, the padded batch at once (ot.solve_batch) | {batched * 1e3:.1f} | "
        f"{looped / batched:.1f}x (target >= 5x) |",
        "",
        f"Batched and per-utterance costs agree within 1e-5: {same}.",
    ]
    print(write_section("ot", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
