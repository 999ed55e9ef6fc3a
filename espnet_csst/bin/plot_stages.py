#!/usr/bin/env python3
"""Training curves of consecutive stages on one step axis, from ESPnet's train.log files.

    python -m espnet_csst.bin.plot_stages --out exp/csst_stageC/images/stages.png \\
        A=exp/csst_stageA/train.log B=exp/csst_stageB/train.log C=exp/csst_stageC/train.log

ESPnet plots each stage per epoch; this shows the multi-stage schedule as a
whole: the losses every ``log_interval`` steps, the transition weight
lambda(t) of the replayed data, the MoE projector's language and balance
losses, and the OT alignment loss at each aligned LLM layer (``loss_ot_l<k>``),
with a line where each stage starts.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Tuple

from espnet_csst.utils.fileio import atomic_savefig

# "1epoch:train:51-60batch: iter_time=0.003, loss=98.3, ..." every log_interval steps, and
# "1epoch results: [train] ..., total_count=208, [valid] ..." at the end of every epoch
LINE = re.compile(r"(\d+)epoch:train:(\d+)-(\d+)batch: (.*)$")
EPOCH = re.compile(r"\d+epoch results: \[train\] (.*?)(, \[valid\].*)?$")
PANELS = (
    ("loss", ("loss", "loss_ce", "loss_ce_current", "loss_ce_replay", "loss_ctc")),
    ("transition weight", ("transition_weight",)),
    ("MoE losses", ("loss_lang", "loss_balance")),
    ("OT loss per layer", ("loss_ot",)),   # + every loss_ot_l<k> the logs have
)
OT_LAYER = re.compile(r"loss_ot_l\d+$")


def _stats(text: str) -> Dict[str, float]:
    stats = {}
    for kv in text.split(", "):
        k, _, v = kv.partition("=")
        try:
            stats[k.strip()] = float(v)
        except ValueError:
            pass
    return stats


def parse_log(path: Path) -> List[Tuple[int, Dict[str, float]]]:
    """(step within the stage, stats) for every periodic training line of the log; the
    per-epoch training summaries (at their total_count) when there are none (epochs shorter
    than ESPnet's log interval)."""
    periodic, epochs = [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = LINE.search(line)
        if m:
            periodic.append((int(m.group(1)), int(m.group(3)), _stats(m.group(4))))
            continue
        m = EPOCH.search(line)
        if m:
            stats = _stats(m.group(1))
            if "total_count" in stats:
                epochs.append((int(stats["total_count"]), stats))
    if not periodic:
        return epochs
    # steps per epoch: the last batch index logged in the first epoch
    first = periodic[0][0]
    per_epoch = max(end for epoch, end, _ in periodic if epoch == first)
    return [((epoch - 1) * per_epoch + end, stats) for epoch, end, stats in periodic]


def panels_for(stages: List[Tuple[str, List[Tuple[int, Dict[str, float]]]]]) -> List[Tuple[str, Tuple[str, ...]]]:
    """The panels (title, stats keys) that the logs have values for."""
    seen = {k for _, entries in stages for _, s in entries for k in s}
    ot_layers = tuple(sorted((k for k in seen if OT_LAYER.match(k)), key=lambda k: int(k[len("loss_ot_l"):])))
    panels = [(title, keys + ot_layers if title == "OT loss per layer" else keys) for title, keys in PANELS]
    return [(title, tuple(k for k in keys if k in seen)) for title, keys in panels if any(k in seen for k in keys)]


def plot(stages: List[Tuple[str, List[Tuple[int, Dict[str, float]]]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = panels_for(stages)
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.6 * len(panels)), sharex=True, squeeze=False)
    offset = 0
    for name, entries in stages:
        for ax, (_, keys) in zip(axes[:, 0], panels):
            for k in keys:
                pts = [(offset + step, s[k]) for step, s in entries if k in s]
                if pts:
                    ax.plot(*zip(*pts), label=f"{k} ({name})")
            ax.axvline(offset, color="grey", lw=0.8, ls="--")
        axes[0, 0].text(offset, 1.02, f" stage {name}", transform=axes[0, 0].get_xaxis_transform(), fontsize=9)
        offset += max((step for step, _ in entries), default=0)
    for ax, (title, _) in zip(axes[:, 0], panels):
        ax.set_ylabel(title)
        ax.legend(fontsize=7, ncol=3)
    axes[-1, 0].set_xlabel("training step (stages one after another)")
    fig.tight_layout()
    atomic_savefig(fig, out, dpi=100)


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("logs", nargs="+", help="NAME=train.log, in stage order")
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    stages = []
    for spec in args.logs:
        name, sep, path = spec.partition("=")
        if not sep:
            print(f"plot_stages: error: expected NAME=train.log, got {spec!r}", file=sys.stderr)
            return 2
        if not Path(path).is_file():
            print(f"plot_stages: error: {path} not found (train stage {name} first)", file=sys.stderr)
            return 1
        entries = parse_log(Path(path))
        if not entries:
            print(f"plot_stages: error: {path} has no training lines ('<n>epoch:train:<a>-<b>batch: ...' "
                  "or '<n>epoch results: [train] ...'); is it an ESPnet trainer log?", file=sys.stderr)
            return 1
        stages.append((name, entries))
    plot(stages, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
