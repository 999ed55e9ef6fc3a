"""Benchmark: a training step with the MoE projector against the linear projector, and MoE dispatch.

    python bench/bench_moe.py [--steps 10]

Builds the mini recipe's model twice with random weights, once from
``conf/tuning/train_csst_linear.yaml`` (linear projector) and once from
``conf/train_csst.yaml`` (language-group MoE, language and balance
losses on), and times forward + backward + AdamW step on the same batch shaped
like the mini corpus, alternating the two models so that both see the same
machine state. Target (DESIGN 3.1): the MoE step costs at most 1.2x the linear
step. Also times the MoE projector's batched dispatch against the
token-by-token reference (``naive_moe_reference``). Writes a markdown table
into bench/RESULTS.md between the ``moe`` markers.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import torch
import yaml

from bench_cpu_bf16 import build, ids
from espnet_csst.models.csst_model import resolve_cpu_bf16
from espnet_csst.projectors.moe import naive_moe_reference
from results_md import machine, write_section

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs2/mini_cs/csst1/conf"


def make_batch(b: int, seconds: float, vocab: int) -> dict:
    torch.manual_seed(1)
    n = int(seconds * 16000)
    text, text_len = ids(b, 18, vocab - 1)
    src, src_len = ids(b, 35, 150)
    prefix, prefix_len = ids(b, 3, vocab - 1)
    instr, instr_len = ids(b, 8, vocab - 1)
    frames = int(seconds * 100)
    # half the utterances Spanish, half English (the language loss's labels)
    lang = torch.tensor([k % 2 for k in range(b)])[:, None].expand(b, frames).contiguous()
    return dict(speech=0.1 * torch.randn(b, n), speech_lengths=torch.full((b,), n), text=text,
                text_lengths=text_len, prefix=prefix, prefix_lengths=prefix_len, instruction=instr,
                instruction_lengths=instr_len, src_text=src, src_text_lengths=src_len,
                lang_labels=lang, lang_labels_lengths=torch.full((b,), frames))


def step_fn(model, batch):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        loss = model(**batch)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch_size", type=int, default=12)
    p.add_argument("--seconds", type=float, default=3.6, help="utterance length (the mini corpus mean)")
    args = p.parse_args(argv)
    configs = {"linear": RECIPE / "tuning/train_csst_linear.yaml", "moe": RECIPE / "train_csst.yaml"}
    vocab = 1000
    batch = make_batch(args.batch_size, args.seconds, vocab)
    models, steps, params = {}, {}, {}
    for name, path in configs.items():
        conf = yaml.safe_load(path.read_text(encoding="utf-8"))
        bf16 = resolve_cpu_bf16((conf.get("model_conf") or {}).get("cpu_bf16", False))
        models[name] = build(conf, vocab, 150, bf16).train()
        params[name] = sum(x.numel() for x in models[name].projector.parameters())
        steps[name] = step_fn(models[name], batch if name == "moe" else
                              {k: v for k, v in batch.items() if not k.startswith("lang_labels")})
        steps[name]()  # warm-up
    times = {name: [] for name in configs}
    for _ in range(args.steps):  # alternate: both models see the same machine state
        for name in configs:
            times[name].append(timed(steps[name]))
    med = {name: statistics.median(t) for name, t in times.items()}
    ratio = med["moe"] / med["linear"]
    print(f"step: linear {med['linear']:.3f} s, moe {med['moe']:.3f} s, ratio {ratio:.2f}", flush=True)

    proj = models["moe"].projector.eval().float()
    enc_frames = torch.randn(args.batch_size, int(args.seconds * 100 / 6), proj.w1.size(1) // proj.downsample)
    lens = torch.full((args.batch_size,), enc_frames.size(1))
    with torch.no_grad():
        batched = statistics.median(timed(lambda: proj(enc_frames, lens)) for _ in range(args.steps))
        naive = statistics.median(timed(lambda: naive_moe_reference(proj, enc_frames, lens)) for _ in range(3))
    n_tokens = int(torch.div(lens + proj.downsample - 1, proj.downsample, rounding_mode="floor").sum())
    print(f"dispatch: batched {batched * 1e3:.2f} ms, token by token {naive * 1e3:.1f} ms", flush=True)

    cmd = "python bench/bench_moe.py " + " ".join(sys.argv[1:])
    lines = [
        "## MoE projector: training step against the linear projector, batched dispatch",
        "",
        f"- machine: {machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        f"- date: {datetime.date.today().isoformat()}",
        f"- command: `{cmd}`",
        f"- models: egs2/mini_cs/csst1/conf/tuning/train_csst_linear.yaml (linear) and conf/train_csst.yaml "
        f"(MoE, {models['moe'].projector.num_groups} groups x {models['moe'].projector.num_experts} experts, "
        f"top-{models['moe'].projector.top_k}, language and balance losses on); batch {args.batch_size} x "
        f"{args.seconds} s; median of {args.steps} alternating steps (forward + backward + AdamW)",
        "",
        "| measurement | linear | MoE | MoE / linear | target |",
        "|---|---:|---:|---:|---:|",
        f"| training step (s) | {med['linear']:.3f} | {med['moe']:.3f} | {ratio:.2f}x | <= 1.2x |",
        f"| projector parameters | {params['linear'] / 1e6:.2f} M | {params['moe'] / 1e6:.2f} M | "
        f"{params['moe'] / params['linear']:.2f}x | |",
        "",
        "| MoE dispatch, forward of one batch | time (ms) | speed-up |",
        "|---|---:|---:|",
        f"| token-by-token reference ({n_tokens} tokens) | {naive * 1e3:.1f} | 1.00x |",
        f"| batched (gather / expert FFN / index_add per expert) | {batched * 1e3:.2f} | {naive / batched:.0f}x |",
    ]
    print(write_section("moe", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
