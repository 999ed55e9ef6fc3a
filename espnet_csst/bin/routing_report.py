#!/usr/bin/env python3
"""How a trained MoE projector routes the tokens of a test set, against their languages.

    python -m espnet_csst.bin.routing_report --csst_train_config exp/csst_stageC/config.yaml \\
        --csst_model_file exp/csst_stageC/valid.acc.best.pth \\
        --data_dir dump/raw/test_st_test_cs --output_dir exp/csst_stageC/routing_test_cs

The data dir needs ``wav.scp``, ``lang_ali`` (make_task_dir writes it) and
``utt2lang``. Each projector token gets its language from ``lang_ali`` as in
training (``token_labels``); the report gives the group router's accuracy on
all labelled tokens, on the tokens of monolingual utterances and of
code-switched ones, per language, and which group and expert serve each
language. It writes ``routing.json`` and ``routing.png`` (a heatmap: rows are
the tokens' languages, columns the group/expert that took them).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from espnet_csst.data.datadir import read_map
from espnet_csst.losses.moe_losses import token_labels
from espnet_csst.tasks.csst import CSSTTask
from espnet_csst.utils.fileio import atomic_savefig, atomic_write_text

UNLABELLED = "(none)"


def collect(model, loader, utt2lang: Dict[str, str]):
    """Per token: language label, monolingual utterance or not, routed group, top expert there."""
    rows: List[np.ndarray] = []
    with torch.no_grad():
        for keys, batch in loader:
            if "lang_labels" not in batch:
                raise ValueError("the data has no lang_ali; give --data_dir a task dir written by make_task_dir")
            enc, enc_lens = model.encode(batch["speech"], batch["speech_lengths"])
            _, sp_lens, routing = model.project(enc, enc_lens, return_routing=True)
            labels = token_labels(batch["lang_labels"], batch["lang_labels_lengths"], sp_lens,
                                  routing.mask.size(1), routing.group_logits.size(-1),
                                  spans=routing.spans, span_frames=routing.span_frames)
            group = routing.group_logits.argmax(-1)
            expert = routing.topk_index[..., 0].gather(-1, group[..., None])[..., 0]
            mono = torch.tensor([utt2lang.get(k) != "cs" for k in keys])[:, None].expand_as(group)
            m = routing.mask
            rows.append(np.stack([labels[m].numpy(), mono[m].numpy(), group[m].numpy(), expert[m].numpy()], 1))
    return np.concatenate(rows) if rows else np.zeros((0, 4), dtype=np.int64)


def summarize(tokens: np.ndarray, languages: List[str], num_experts: int) -> dict:
    label, mono, group, expert = tokens.T
    known = label >= 0

    def acc(sel):
        n = int(sel.sum())
        return {"accuracy": round(float((group[sel] == label[sel]).mean()), 4) if n else None, "tokens": n}

    out = {"tokens": int(len(tokens)), "labelled_tokens": int(known.sum()),
           "all": acc(known), "monolingual": acc(known & (mono == 1)), "code_switched": acc(known & (mono == 0)),
           "per_language": {lang: acc(label == g) for g, lang in enumerate(languages)}}
    rows = languages + [UNLABELLED]
    columns = [f"{lang}/e{e}" for lang in languages for e in range(num_experts)]
    usage = np.zeros((len(rows), len(columns)))
    for r in range(len(rows)):
        sel = label == (r if r < len(languages) else -1)
        if sel.any():
            cols = group[sel] * num_experts + expert[sel]
            usage[r] = np.bincount(cols, minlength=len(columns)) / sel.sum()
    out["usage"] = {"rows": rows, "columns": columns, "share": usage.round(4).tolist()}
    return out


def plot(summary: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    u = summary["usage"]
    share = np.array(u["share"])
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(u["columns"]), 1.2 + 0.6 * len(u["rows"])))
    im = ax.imshow(share, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(u["columns"])), u["columns"], rotation=45, ha="right")
    ax.set_yticks(range(len(u["rows"])), u["rows"])
    for (r, c), v in np.ndenumerate(share):
        ax.text(c, r, f"{v:.2f}", ha="center", va="center", color="white" if v < 0.5 else "black", fontsize=8)
    ax.set_xlabel("group / expert that took the token")
    ax.set_ylabel("language of the token")
    acc = summary["all"]["accuracy"]
    ax.set_title(f"{title}\ngroup routing accuracy {acc if acc is not None else '-'}")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csst_train_config", required=True)
    p.add_argument("--csst_model_file", required=True)
    p.add_argument("--data_dir", required=True, type=Path)
    p.add_argument("--output_dir", required=True, type=Path)
    p.add_argument("--batch_size", type=int, default=16)
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    model, train_args = CSSTTask.build_model_from_file(args.csst_train_config, args.csst_model_file, "cpu")
    model.eval()
    if not hasattr(model.projector, "languages"):
        print(f"routing_report: error: {args.csst_train_config} has projector '{train_args.projector}'; "
              "routing needs projector: moe", file=sys.stderr)
        return 1
    for name in ("wav.scp", "lang_ali", "utt2lang"):
        if not (args.data_dir / name).is_file():
            print(f"routing_report: error: {args.data_dir / name} is missing; build the dir with make_task_dir",
                  file=sys.stderr)
            return 1
    loader = CSSTTask.build_streaming_iterator(
        [(str(args.data_dir / "wav.scp"), "speech", "sound"), (str(args.data_dir / "lang_ali"), "lang_ali", "text")],
        dtype="float32", batch_size=args.batch_size, key_file=None, num_workers=0,
        preprocess_fn=CSSTTask.build_preprocess_fn(train_args, False),
        collate_fn=CSSTTask.build_collate_fn(train_args, False), allow_variable_data_keys=True, inference=True,
    )
    languages = list(model.projector.languages)
    tokens = collect(model, loader, read_map(args.data_dir / "utt2lang"))
    summary = summarize(tokens, languages, model.projector.num_experts)
    summary.update(data_dir=str(args.data_dir), model=str(args.csst_model_file))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output_dir / "routing.json", json.dumps(summary, indent=1) + "\n")
    plot(summary, args.output_dir / "routing.png", args.data_dir.name)
    logging.info(f"{args.data_dir}: routing accuracy {summary['all']['accuracy']} on "
                 f"{summary['labelled_tokens']} labelled tokens (monolingual {summary['monolingual']['accuracy']}, "
                 f"code-switched {summary['code_switched']['accuracy']}) -> {args.output_dir}/routing.json, routing.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
