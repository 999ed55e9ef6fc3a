#!/usr/bin/env python3
"""Choose the LLM layers for the OT alignment loss by cross-modal retrieval (AI-STA, DESIGN.md 3.3).

    python -m espnet_csst.bin.select_align_layers --csst_train_config exp/csst_stageA/config.yaml \\
        --csst_model_file exp/csst_stageA/valid.acc.best.pth --data_dir dump/raw/stageB_valid \\
        --output_dir exp/align_layers --top_k 2

A trained model reads held-out utterances with transcripts (a task dir with
``wav.scp``, ``src_text`` and ``task``). At every LLM layer (0: the embeddings,
l: the output of block l) it mean-pools the hidden states of the speech
positions (prompt + speech) and of the transcript's positions in a text-only
forward (prompt + transcript), then retrieves each utterance's transcript
among all of them by cosine similarity: R@1, R@5 and MRR per layer. It also
measures the mean OT distance between the two point clouds per layer (the
quantity the loss lowers). The ``top_k`` layers with the best MRR among
1..L are written as a config fragment::

    model_conf:
        ot_layers: [2, 3]

Outputs in ``--output_dir``: ``layers.md`` (table), ``layers.json``,
``layers.png`` (metrics over layers) and ``ot_layers.yaml``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Dict, List

import torch
import yaml

from espnet_csst.losses.ot_align import gather_positions, ot_alignment_cost
from espnet_csst.tasks.csst import CSSTTask
from espnet_csst.utils.fileio import atomic_savefig, atomic_write_text


def pooled_states(model, loader, max_utts: int) -> Dict[str, object]:
    """Per layer: mean-pooled speech and text states (N, D) and the per-utterance OT distances."""
    speech: List[List[torch.Tensor]] = []
    text: List[List[torch.Tensor]] = []
    ot_dist: List[List[torch.Tensor]] = []
    keys: List[str] = []
    with torch.no_grad():
        for batch_keys, batch in loader:
            if "src_llm" not in batch:
                raise ValueError("the data has no src_text; give --data_dir a task dir with a src_text file")
            keep = batch["src_llm_lengths"] > 0
            if not bool(keep.any()):
                continue
            batch = {k: v[keep] for k, v in batch.items()}
            keys += [k for k, kept in zip(batch_keys, keep.tolist()) if kept]
            sp, sp_lens = model.speech_embeddings(batch["speech"], batch["speech_lengths"])
            seq = model.build_sequences(sp, sp_lens, batch["prefix"], batch["prefix_lengths"],
                                        batch["instruction"], batch["instruction_lengths"])
            hs = model.llm(seq["inputs_embeds"], seq["attention_mask"], output_hidden_states=True)["hidden_states"]
            th, tmask = model.text_hidden_states(batch["prefix"], batch["prefix_lengths"], batch["instruction"],
                                                 batch["instruction_lengths"], batch["src_llm"],
                                                 batch["src_llm_lengths"])
            if not speech:
                speech, text, ot_dist = ([[] for _ in hs] for _ in range(3))
            for layer in range(len(hs)):
                h_s, n_s = gather_positions(hs[layer].float(), seq["speech_mask"])
                h_t, n_t = gather_positions(th[layer].float(), tmask)
                speech[layer].append(h_s.sum(1) / n_s.clamp(min=1)[:, None])
                text[layer].append(h_t.sum(1) / n_t.clamp(min=1)[:, None])
                ot_dist[layer].append(ot_alignment_cost(h_s, n_s, h_t, n_t, eps=model.ot_eps))
            if len(keys) >= max_utts:
                break
    if not keys:
        raise ValueError("no utterance with a non-empty transcript in the data")
    n = min(len(keys), max_utts)
    return {"keys": keys[:n],
            "speech": [torch.cat(x)[:n] for x in speech],
            "text": [torch.cat(x)[:n] for x in text],
            "ot": [torch.cat(x)[:n] for x in ot_dist]}


def retrieval(speech: torch.Tensor, text: torch.Tensor) -> Dict[str, float]:
    """Speech -> text retrieval over the set: R@1, R@5 and MRR (the right transcript: same index)."""
    sim = torch.nn.functional.normalize(speech, dim=-1) @ torch.nn.functional.normalize(text, dim=-1).T
    correct = sim.diagonal()[:, None]
    rank = 1 + (sim > correct).sum(1).float()
    return {"R@1": float((rank <= 1).float().mean()), "R@5": float((rank <= 5).float().mean()),
            "MRR": float((1.0 / rank).mean())}


def layer_table(states) -> List[dict]:
    rows = []
    for layer, (s, t, d) in enumerate(zip(states["speech"], states["text"], states["ot"])):
        rows.append({"layer": layer, **retrieval(s, t), "ot_distance": float(d.mean())})
    return rows


def choose(rows: List[dict], top_k: int) -> List[int]:
    """The top_k inner layers (1..L) by MRR, then R@1; returned in layer order."""
    inner = [r for r in rows if r["layer"] >= 1]
    best = sorted(inner, key=lambda r: (-r["MRR"], -r["R@1"], r["layer"]))[:top_k]
    return sorted(r["layer"] for r in best)


def markdown(rows: List[dict], chosen: List[int], n_utts: int, source: str) -> str:
    lines = [f"Speech -> text retrieval over {n_utts} utterances of {source} (chosen: {chosen}).", "",
             "| layer | R@1 | R@5 | MRR | OT distance | chosen |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['R@1']:.3f} | {r['R@5']:.3f} | {r['MRR']:.3f} | "
                     f"{r['ot_distance']:.4f} | {'yes' if r['layer'] in chosen else ''} |")
    return "\n".join(lines) + "\n"


def plot(rows: List[dict], chosen: List[int], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = [r["layer"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, style in (("R@1", "o-"), ("R@5", "s-"), ("MRR", "^-")):
        ax.plot(layers, [r[name] for r in rows], style, label=name)
    for layer in chosen:
        ax.axvline(layer, color="grey", alpha=0.3, lw=6)
    ax.set_xlabel("LLM layer (0: embeddings)")
    ax.set_ylabel("speech -> text retrieval")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(layers)
    ax2 = ax.twinx()
    ax2.plot(layers, [r["ot_distance"] for r in rows], "k--", alpha=0.6, label="OT distance")
    ax2.set_ylabel("mean OT distance")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="best")
    ax.set_title(f"{title} (shaded: chosen layers)")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csst_train_config", required=True)
    p.add_argument("--csst_model_file", required=True)
    p.add_argument("--data_dir", required=True, type=Path, help="task dir with wav.scp, src_text and task")
    p.add_argument("--output_dir", required=True, type=Path)
    p.add_argument("--top_k", type=int, default=2, help="how many layers to choose")
    p.add_argument("--max_utts", type=int, default=200)
    p.add_argument("--batch_size", type=int, default=16)
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    for name in ("wav.scp", "src_text", "task"):
        if not (args.data_dir / name).is_file():
            print(f"select_align_layers: error: {args.data_dir / name} is missing; give a task dir written by "
                  "make_task_dir (it needs the transcripts)", file=sys.stderr)
            return 1
    model, train_args = CSSTTask.build_model_from_file(args.csst_train_config, args.csst_model_file, "cpu")
    model.eval()
    if args.top_k < 1:
        print(f"select_align_layers: error: --top_k must be at least 1, got {args.top_k}", file=sys.stderr)
        return 1
    if args.top_k > model.llm.num_layers():
        logging.warning(f"--top_k {args.top_k} but the LLM has {model.llm.num_layers()} layers: choosing all of them")
    preprocess = CSSTTask.build_preprocess_fn(train_args, False)
    preprocess.src_llm_ids = True  # the transcript in LLM tokens, whether or not the model trained with OT
    loader = CSSTTask.build_streaming_iterator(
        [(str(args.data_dir / "wav.scp"), "speech", "sound"), (str(args.data_dir / "src_text"), "src_text", "text"),
         (str(args.data_dir / "task"), "task", "text")],
        dtype="float32", batch_size=args.batch_size, key_file=None, num_workers=0, preprocess_fn=preprocess,
        collate_fn=CSSTTask.build_collate_fn(train_args, False), allow_variable_data_keys=True, inference=True,
    )
    states = pooled_states(model, loader, args.max_utts)
    rows = layer_table(states)
    chosen = choose(rows, args.top_k)
    n = len(states["keys"])
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "layers.json", json.dumps(
        {"data_dir": str(args.data_dir), "model": str(args.csst_model_file), "utterances": n,
         "layers": rows, "chosen": chosen}, indent=1) + "\n")
    atomic_write_text(out / "layers.md", markdown(rows, chosen, n, args.data_dir))
    atomic_write_text(out / "ot_layers.yaml", "# written by espnet_csst.bin.select_align_layers from "
                      f"{args.csst_model_file} on {args.data_dir}\n"
                      + yaml.safe_dump({"model_conf": {"ot_layers": chosen}}, default_flow_style=None))
    plot(rows, chosen, out / "layers.png", args.data_dir.name)
    best = max(rows, key=lambda r: r["MRR"])
    logging.info(f"{n} utterances: best MRR {best['MRR']:.3f} at layer {best['layer']}; chosen layers {chosen} "
                 f"-> {out}/ot_layers.yaml, layers.md, layers.png")
    print(markdown(rows, chosen, n, args.data_dir), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
