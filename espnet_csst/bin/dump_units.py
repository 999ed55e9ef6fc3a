#!/usr/bin/env python3
"""Turn audio into discrete k-means units, and word times into unit spans (DESIGN.md 3.4).

    python -m espnet_csst.bin.dump_units --kmeans exp/units/kmeans.npz \\
        --wav_scp data/s2st_train/wav.scp.en --out dump/units/s2st_train/units.en \\
        --word_ali data/s2st_train/word_ali.en --out_word_frames dump/units/s2st_train/word_frames.en \\
        --dedup true

Features are extracted with the feature config stored in the k-means model,
each frame gets its nearest centroid, and ``--out`` is a Kaldi text file::

    <utt> u1 u2 u3 ...

With ``--dedup true`` runs of a repeated unit collapse to one unit, and
``--out_durations`` gets each unit's run length (``<utt> d1 d2 ...``, unit
frames), which the vocoder's duration model learns from.

With ``--word_ali`` (``<utt> <start_s> <end_s> <word> <lang>`` per word),
``--out_word_frames`` gets one line per utterance::

    <utt> s1 e1 w1 s2 e2 w2 ...

where ``[s, e)`` are half-open indices into that utterance's unit sequence
(after deduplication when on). A time ``t`` is frame ``round(t / frame_shift)``;
with deduplication a frame boundary maps to the number of runs starting
before it, so each run belongs to the word holding its first frame. Spans are
clamped into ``[0, len(units)]`` and made non-overlapping and non-decreasing
(a start before the previous end is moved to it; the count is logged).
Utterances with unreadable audio are skipped (warning + count), as are
utterances missing from the word alignment for the word-frames file.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
from espnet2.utils.types import str2bool

from espnet_csst.data.datadir import WordAli, parse_word_ali
from espnet_csst.units.audio import read_wav_scp
from espnet_csst.units.features import build_feature_extractor, iter_utterance_features, time_to_frame
from espnet_csst.units.kmeans import assign_units, deduplicate, load_kmeans
from espnet_csst.utils.fileio import atomic_open

Span = Tuple[int, int, str]


class NothingReadError(RuntimeError):
    """No utterance of the wav.scp gave features."""


def word_unit_spans(words: Sequence[WordAli], frame_shift: float, n_frames: int,
                    run_lengths: Optional[np.ndarray] = None) -> Tuple[List[Span], int]:
    """``([(start, end, word), ...], n_fixed)``: each word's half-open span of unit indices.

    ``run_lengths`` (from :func:`deduplicate`) maps frame boundaries to indices
    into the deduplicated units. ``n_fixed`` counts words whose start was moved
    to the previous word's end to remove an overlap.
    """
    if run_lengths is None:
        def to_index(frame: int) -> int:
            return frame
    else:
        run_starts = np.cumsum(run_lengths) - run_lengths

        def to_index(frame: int) -> int:
            return int(np.searchsorted(run_starts, frame, side="left"))

    spans: List[Span] = []
    prev_end, n_fixed = 0, 0
    for w in words:
        start = to_index(time_to_frame(w.start, frame_shift, n_frames))
        end = to_index(time_to_frame(w.end, frame_shift, n_frames))
        if start < prev_end:
            start, n_fixed = prev_end, n_fixed + 1
        end = max(end, start)
        spans.append((start, end, w.word))
        prev_end = end
    return spans, n_fixed


def format_spans(utt: str, spans: Sequence[Span]) -> str:
    return " ".join([utt] + [f"{s} {e} {w}" for s, e, w in spans]) + "\n"


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kmeans", required=True, type=Path, help="k-means model (.npz) from learn_kmeans")
    p.add_argument("--wav_scp", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path, help="output units, Kaldi text '<utt> u1 u2 ...'")
    p.add_argument("--word_ali", type=Path, default=None, help="word alignment (seconds) of the same audio")
    p.add_argument("--out_word_frames", type=Path, default=None,
                   help="output '<utt> s1 e1 w1 ...' unit spans of the words (needs --word_ali)")
    p.add_argument("--dedup", type=str2bool, default=False, help="collapse runs of a repeated unit")
    p.add_argument("--out_durations", type=Path, default=None,
                   help="with --dedup true: output '<utt> d1 d2 ...', the run length of every unit")
    p.add_argument("--device", default="cpu", help="device of an hf_ssl feature model")
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    if (args.word_ali is None) != (args.out_word_frames is None):
        print("dump_units: error: --word_ali and --out_word_frames go together; give both or neither",
              file=sys.stderr)
        return 1
    if args.out_durations is not None and not args.dedup:
        print("dump_units: error: --out_durations needs --dedup true (without it every unit lasts one frame)",
              file=sys.stderr)
        return 1
    try:
        centroids, feature_config = load_kmeans(args.kmeans)
        conf = dict(feature_config)
        if conf["kind"] == "hf_ssl":
            conf["device"] = args.device
        extractor = build_feature_extractor(**conf)
        if extractor.dim != centroids.shape[1]:
            raise ValueError(f"{args.kmeans}: centroids have dimension {centroids.shape[1]} but its feature config "
                             f"gives {extractor.dim}; re-run learn_kmeans")
        entries = read_wav_scp(args.wav_scp)
        word_ali = parse_word_ali(args.word_ali) if args.word_ali is not None else None
    except (ValueError, FileNotFoundError) as e:
        print(f"dump_units: error: {e}", file=sys.stderr)
        return 1

    try:
        return write_outputs(args, extractor, centroids, entries, word_ali)
    except NothingReadError as e:
        print(f"dump_units: error: {e}", file=sys.stderr)
        return 1


def write_outputs(args, extractor, centroids: np.ndarray, entries, word_ali) -> int:
    """Units (and word spans) of every readable utterance, each file written atomically."""
    drops: Counter = Counter()
    n_utts = n_units = n_fixed = n_no_ali = 0
    with contextlib.ExitStack() as stack:
        out_units = stack.enter_context(atomic_open(args.out))
        out_wf = stack.enter_context(atomic_open(args.out_word_frames)) if word_ali is not None else None
        out_dur = stack.enter_context(atomic_open(args.out_durations)) if args.out_durations else None
        for utt, feats in iter_utterance_features(entries, extractor, drops, desc="units"):
            units = assign_units(feats, centroids)
            run_lengths = None
            if args.dedup:
                units, run_lengths = deduplicate(units)
                if out_dur is not None:
                    out_dur.write(" ".join([utt, *map(str, run_lengths.tolist())]) + "\n")
            out_units.write(" ".join([utt, *map(str, units.tolist())]) + "\n")
            n_utts, n_units = n_utts + 1, n_units + len(units)
            if out_wf is None:
                continue
            if utt not in word_ali:
                n_no_ali += 1
                continue
            spans, fixed = word_unit_spans([w for w, _ in word_ali[utt]], extractor.frame_shift, len(feats),
                                           run_lengths)
            n_fixed += fixed
            out_wf.write(format_spans(utt, spans))
        if n_utts == 0:  # raising discards the (empty) outputs instead of writing them
            raise NothingReadError(f"no utterance of {args.wav_scp} could be read ({dict(drops)})")
    dropped = sum(drops.values())
    logging.info(f"wrote {n_units} units of {n_utts} utterances to {args.out}"
                 f"{' (deduplicated)' if args.dedup else ''}; dropped {dropped} utterances"
                 + (f" ({', '.join(f'{k}: {v}' for k, v in drops.items())})" if dropped else ""))
    if word_ali is not None:
        logging.info(f"wrote word spans of {n_utts - n_no_ali} utterances to {args.out_word_frames}; "
                     f"{n_no_ali} utterances had no word alignment in {args.word_ali}; "
                     f"{n_fixed} overlapping word starts moved to the previous word's end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
