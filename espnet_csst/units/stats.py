"""What a set of discrete units looks like to a unit LM (issue 22, choosing the unit features).

A unit LM translates by writing, for each target word, the units that word sounds like. Two
properties of a unit inventory make that easier or harder, and both can be read off a unit dump
without training anything:

* **run length**: frames per run of a repeated unit. Long runs mean long sequences of little
  information (what ``--dedup`` removes).
* **word consistency**: how alike the units of two occurrences of the same word are, as the edit
  distance between their deduplicated unit strings divided by the longer one's length (0: the
  same string every time). The mini corpus's voice is synthetic, so acoustic variation between
  occurrences is small; a feature that changes a word's units with its context makes the same
  word a different target each time.

These are proxies, measured beside the resynthesis ceiling and the unit LM's own accuracy, not
instead of them (``local/choose_units.sh`` of ``egs2/mini_cs/s2st_lm1``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

import editdistance

from espnet_csst.units.interleave import parse_word_frames
from espnet_csst.units.kmeans import deduplicate


def mean_run_length(units: Dict[str, Sequence[int]]) -> float:
    """Frames per run of a repeated unit, over every utterance (nan without units)."""
    frames = sum(len(u) for u in units.values())
    runs = sum(len(deduplicate(u)[0]) for u in units.values())
    return frames / runs if runs else float("nan")


def word_occurrences(units: Dict[str, Sequence[int]], word_frames: Dict[str, str]) -> Dict[str, List[Tuple[int, ...]]]:
    """``{word (lower-cased): [its deduplicated unit string at each occurrence]}``.

    ``word_frames`` maps each utterance to its ``dump_units --out_word_frames`` line
    (``s1 e1 w1 s2 e2 w2 ...``: half-open unit spans, checked against the utterance's units by
    :func:`~espnet_csst.units.interleave.parse_word_frames`); utterances without units, and
    empty spans, are skipped.
    """
    out: Dict[str, List[Tuple[int, ...]]] = defaultdict(list)
    for utt, line in word_frames.items():
        seq = units.get(utt)
        if not seq:
            continue
        spans, words = parse_word_frames(line, len(seq), utt)
        for (start, end), word in zip(spans, words):
            if end > start:
                out[word.lower()].append(tuple(deduplicate(seq[start:end])[0].tolist()))
    return dict(out)


def word_consistency(occurrences: Dict[str, List[Tuple[int, ...]]], max_pairs: int = 20,
                     seed: int = 0) -> Tuple[float, int]:
    """Mean normalised edit distance between two occurrences of the same word, and the pairs used.

    Every word with at least two occurrences contributes up to ``max_pairs`` pairs, drawn with a
    seeded generator so the number is reproducible; each word weighs by its pairs.
    """
    rng = random.Random(seed)
    total, n = 0.0, 0
    for word in sorted(occurrences):
        occ = occurrences[word]
        if len(occ) < 2:
            continue
        pairs = [(i, j) for i in range(len(occ)) for j in range(i + 1, len(occ))]
        if len(pairs) > max_pairs:
            pairs = rng.sample(pairs, max_pairs)
        for i, j in pairs:
            a, b = occ[i], occ[j]
            total += editdistance.eval(a, b) / max(len(a), len(b))
            n += 1
    return (total / n if n else float("nan")), n


__all__ = ["mean_run_length", "word_consistency", "word_occurrences"]
