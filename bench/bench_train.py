"""Benchmark: training throughput and memory of the CSST models against ESPnet's stock ST model.

    python bench/bench_train.py [--steps 8]

Builds, with random weights, the mini recipe's models: CSST with the linear
projector (``conf/tuning/train_csst_linear.yaml``), with the language-group MoE
(``conf/train_csst.yaml``), MoE + the OT alignment loss at two LLM layers, the
MoE model without CPU bf16 autocast, and the peer (ESPnet's ``STTask`` model
of ``conf/peer_st.yaml``, fp32 as ESPnet trains on CPU). Each does forward +
backward + AdamW on the same batch (``--batch_size`` x ``--seconds`` s, 18
target and 35 source tokens); the models take turns step by step so that all
see the same machine state, and throughput is seconds of audio per wall
second (median step). Memory: one fresh process per model, RSS after building
it and the peak over 3 training steps. Writes the ``train`` section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from bench_cpu_bf16 import build, ids
from bench_decode import peak_rss_during
from bench_moe import make_batch, step_fn, timed
from espnet_csst.models.csst_model import resolve_cpu_bf16
from peer import build_peer
from results_md import header, write_section

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "egs2/mini_cs/csst1/conf"
VOCAB, SRC_VOCAB = 1000, 150
OT = {"ot_weight": 0.5, "ot_layers": [2, 3]}
MODELS = {  # name -> (description, config, model_conf update, bf16 override)
    "linear": ("CSST, linear projector", "tuning/train_csst_linear.yaml", {}, None),
    "moe": ("CSST, MoE projector", "train_csst.yaml", {}, None),
    "moe_ot": ("CSST, MoE + OT loss (layers 2, 3)", "train_csst.yaml", OT, None),
    "moe_fp32": ("CSST, MoE projector, fp32", "train_csst.yaml", {}, False),
    "peer": ("peer: ESPnet ST (conformer + transformer decoder)", None, {}, False),
}


def build_model(name: str, work: Path):
    """``(model, batch keys it takes, bf16)``."""
    _, config, update, bf16 = MODELS[name]
    if config is None:
        model, _ = build_peer(work, VOCAB, SRC_VOCAB)
        return model.train(), ("speech", "speech_lengths", "text", "text_lengths", "src_text", "src_text_lengths"), False
    conf = yaml.safe_load((CONF / config).read_text(encoding="utf-8"))
    conf["model_conf"] = {**(conf.get("model_conf") or {}), **update}
    if bf16 is None:
        bf16 = resolve_cpu_bf16(conf["model_conf"].get("cpu_bf16", False))
    keys = ["speech", "speech_lengths", "text", "text_lengths", "prefix", "prefix_lengths", "instruction",
            "instruction_lengths", "src_text", "src_text_lengths"]
    if conf.get("projector") == "moe":
        keys += ["lang_labels", "lang_labels_lengths"]
    if update.get("ot_weight"):
        keys += ["src_llm", "src_llm_lengths"]
    return build(conf, VOCAB, SRC_VOCAB, bf16).train(), tuple(keys), bf16


def full_batch(batch_size: int, seconds: float) -> dict:
    batch = make_batch(batch_size, seconds, VOCAB)
    batch["src_llm"], batch["src_llm_lengths"] = ids(batch_size, 25, VOCAB - 1)
    return batch


def child(name: str, batch_size: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model, keys, _ = build_model(name, Path(tmp))
        batch = full_batch(batch_size, seconds)
        step = step_fn(model, {k: batch[k] for k in keys})

        def three_steps():
            for _ in range(3):
                step()
        print(json.dumps(peak_rss_during(three_steps)))


def memory(name: str, batch_size: int, seconds: float) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", name, "--batch_size", str(batch_size),
                        "--seconds", str(seconds)], capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch_size", type=int, default=12)
    p.add_argument("--seconds", type=float, default=3.6, help="utterance length (the mini corpus mean)")
    p.add_argument("--child", choices=sorted(MODELS), default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.batch_size, args.seconds)
        return 0
    batch = full_batch(args.batch_size, args.seconds)
    audio_s = args.batch_size * args.seconds
    steps, params, dtype = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            model, keys, bf16 = build_model(name, Path(tmp) / name)
            params[name] = sum(x.numel() for x in model.parameters())
            dtype[name] = "bf16 autocast" if bf16 else "fp32"
            steps[name] = step_fn(model, {k: batch[k] for k in keys})
            steps[name]()  # warm-up
    times = {name: [] for name in MODELS}
    for _ in range(args.steps):
        for name in MODELS:
            times[name].append(timed(steps[name]))
    med = {name: statistics.median(t) for name, t in times.items()}
    for name in MODELS:
        print(f"{name}: {med[name]:.3f} s/step, {audio_s / med[name]:.1f} audio s per s", flush=True)
    mem = {name: memory(name, args.batch_size, args.seconds) for name in MODELS}

    lines = [
        *header("## Training throughput and memory: CSST models against ESPnet's stock ST model",
                "bench_train.py", sys.argv[1:], ", no GPU lent"),
        f"- batch: {args.batch_size} utterances x {args.seconds} s ({audio_s:.1f} s of audio), 18 target and 35 "
        f"source tokens; forward + backward + AdamW; median of {args.steps} steps taken in turns; random weights; "
        "memory: a fresh process per model, peak RSS over 3 steps",
        "",
        "| model | parameters | dtype | step (s) | audio s / wall s | vs peer | RSS loaded (MiB) | "
        "peak RSS training (MiB) |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, (desc, *_rest) in MODELS.items():
        thr = audio_s / med[name]
        lines.append(f"| {desc} | {params[name] / 1e6:.2f} M | {dtype[name]} | {med[name]:.3f} | {thr:.1f} | "
                     f"{med['peer'] / med[name]:.2f}x | {mem[name]['loaded_mb']:.0f} | {mem[name]['peak_mb']:.0f} |")
    lines += ["", "| ratio | measured | target |", "|---|---:|---:|",
              f"| MoE step / linear step | {med['moe'] / med['linear']:.2f}x | <= 1.2x |",
              f"| MoE + OT step / MoE step | {med['moe_ot'] / med['moe']:.2f}x | <= 1.3x |"]
    print(write_section("train", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
