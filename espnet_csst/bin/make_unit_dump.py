#!/usr/bin/env python3
"""Assemble one S2ST set's training/decoding directory from its dumped units.

Input: the data dir (``wav.scp.<tgt>``, ``text.<tgt>``) and ``dump_units``'s
files for both sides in ``--raw_dir`` (``{src,tgt}_units``,
``{src,tgt}_word_frames``, and with deduplication ``{src,tgt}_durations``). Output, in ``--out_dir``, every file keyed by the
same utterances, C-sorted::

    src_units tgt_units src_word_frames tgt_word_frames   what UnitLMTask reads
    src_durations tgt_durations                            run lengths of deduplicated units (the vocoder's)
    task                                                   "s2st <src> <tgt>" per utterance
    src_units_shape tgt_units_shape                        "<utt> <n>" (ESPnet's batching)
    text.<tgt> tgt_wav.scp                                 references for ASR-BLEU and the vocoder
    unit_hop                                               audio samples per unit (16 kHz)
    dropped                                                "<utt> <reason>" per dropped utterance

Utterances missing from a side, with no units, or (``--max_units``, for
training) whose source + target units exceed the budget are dropped and
reported: the LLM's positions bound a training sequence.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Dict

from espnet_csst.data.datadir import c_sorted, read_map
from espnet_csst.units.features import build_feature_extractor
from espnet_csst.units.kmeans import load_kmeans
from espnet_csst.utils.fileio import atomic_write_text

UNIT_FILES = ("src_units", "tgt_units", "src_word_frames", "tgt_word_frames", "src_durations", "tgt_durations")


def read_optional(path: Path) -> Dict[str, str]:
    return read_map(path) if path.is_file() else {}


def unit_hop_samples(kmeans: Path, fs: int = 16000) -> int:
    _, feature_config = load_kmeans(kmeans)
    conf = dict(feature_config)
    return int(round(build_feature_extractor(conf.pop("kind"), **conf).frame_shift * fs))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True, type=Path)
    p.add_argument("--raw_dir", required=True, type=Path, help="dump_units outputs of both sides")
    p.add_argument("--out_dir", required=True, type=Path)
    p.add_argument("--task", required=True, help="task spec, e.g. 's2st es en'")
    p.add_argument("--tgt_lang", required=True)
    p.add_argument("--kmeans", required=True, type=Path, help="the k-means model the units came from (unit_hop)")
    p.add_argument("--max_units", type=int, default=0, help="drop pairs with more source + target units (0: keep all)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")

    files = {name: read_optional(args.raw_dir / name) for name in UNIT_FILES}
    for name in ("src_units", "tgt_units"):
        if not files[name]:
            raise SystemExit(f"{args.raw_dir / name} is missing or empty: run dump_units for this set first")
    refs = read_map(args.data_dir / f"text.{args.tgt_lang}")
    wavs = read_map(args.data_dir / f"wav.scp.{args.tgt_lang}")

    dropped, reasons = {}, Counter()
    for uid in c_sorted(set(files["src_units"]) | set(files["tgt_units"])):
        src, tgt = files["src_units"].get(uid), files["tgt_units"].get(uid)
        if src is None or tgt is None:
            reason = "units of one side missing (unreadable audio?)"
        elif not src.split() or not tgt.split():
            reason = "no units"
        elif uid not in refs or uid not in wavs:
            reason = f"not in {args.data_dir}/text.{args.tgt_lang} or wav.scp.{args.tgt_lang}"
        elif args.max_units and len(src.split()) + len(tgt.split()) > args.max_units:
            reason = f"longer than --max_units {args.max_units}"
        else:
            continue
        dropped[uid] = reason
        reasons[reason.split(" (")[0]] += 1
    keep = [u for u in c_sorted(files["src_units"]) if u not in dropped]
    if not keep:
        raise SystemExit(f"{args.data_dir}: every utterance was dropped ({dict(reasons)})")

    out = args.out_dir
    for name, table in files.items():
        if table:
            atomic_write_text(out / name, "".join(f"{u} {table.get(u, '')}\n" for u in keep))
    for side in ("src", "tgt"):
        atomic_write_text(out / f"{side}_units_shape",
                          "".join(f"{u} {len(files[f'{side}_units'][u].split())}\n" for u in keep))
    atomic_write_text(out / "task", "".join(f"{u} {args.task}\n" for u in keep))
    atomic_write_text(out / f"text.{args.tgt_lang}", "".join(f"{u} {refs[u]}\n" for u in keep))
    atomic_write_text(out / "tgt_wav.scp", "".join(f"{u} {wavs[u]}\n" for u in keep))
    atomic_write_text(out / "dropped", "".join(f"{u} {r}\n" for u, r in dropped.items()))
    atomic_write_text(out / "unit_hop", f"{unit_hop_samples(args.kmeans)}\n")
    summary = ", ".join(f"{n} {r}" for r, n in reasons.items()) or "none"
    logging.info(f"{out}: {len(keep)} utterances; dropped: {summary} (list: {out / 'dropped'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
