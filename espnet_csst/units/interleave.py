"""Word-level interleaving of speech units with text tokens (DESIGN.md 3.4).

An utterance's unit sequence is cut into one segment per aligned word: word
i's segment runs from its start to the next word's start (the first word's
from the utterance start, the last word's to its end), so the pauses go with
the word before them. Each segment is written as its units or, with
probability p, as the word's text tokens. The segments keep their order, so
the result reads left to right like the utterance, part speech, part text::

    units   u u | w1: u u u | u | w2: u u | u      word spans [2, 5) and [6, 8)
    segments [0, 6) for w1, [6, 9) for w2
    p = 1   <text w1> <text w2>                     pure text
    p = 0   the units unchanged                     pure units
    mixed   <text w1> u u u                         w1 as text, w2 (and its pause) as units

Unit k is LLM token ``unit_offset + k`` (the units are appended to the text
vocabulary). An utterance without aligned words stays pure units. Nothing
here knows about batches or models: the S2ST model calls ``interleave`` per
utterance with the replacement flags it has drawn.
"""

from __future__ import annotations

import random
from typing import List, Sequence, Tuple


def parse_word_frames(line: str, n_units: int, uid: str = "?") -> Tuple[List[Tuple[int, int]], List[str]]:
    """``"s1 e1 w1 s2 e2 w2 ..."`` (dump_units --out_word_frames) -> spans and words.

    Spans are half-open unit indices; they must be ordered, non-overlapping and
    inside the utterance's ``n_units`` units.
    """
    fields = line.split()
    if len(fields) % 3:
        raise ValueError(f"utterance {uid}: a word_frames line has {len(fields)} fields, not triples "
                         "'<start> <end> <word>'; regenerate it with espnet_csst.bin.dump_units --word_ali")
    spans, words = [], []
    prev_end = 0
    for k in range(0, len(fields), 3):
        try:
            s, e = int(fields[k]), int(fields[k + 1])
        except ValueError:
            raise ValueError(f"utterance {uid}: word_frames span {fields[k:k + 2]} is not two integers") from None
        if not prev_end <= s <= e <= n_units:
            raise ValueError(f"utterance {uid}: word span [{s}, {e}) of {fields[k + 2]!r} is out of order or "
                             f"outside the {n_units} units; the units and word_frames files do not belong "
                             "together: dump them again in one dump_units call")
        spans.append((s, e))
        words.append(fields[k + 2])
        prev_end = e
    return spans, words


def draw_replacements(n_words: int, p: float, rng: random.Random) -> List[bool]:
    """Which words become text: each independently with probability p."""
    if p <= 0.0:
        return [False] * n_words
    if p >= 1.0:
        return [True] * n_words
    return [rng.random() < p for _ in range(n_words)]


def word_segments(spans: Sequence[Tuple[int, int]], n_units: int) -> List[Tuple[int, int]]:
    """The word spans widened to tile [0, n_units): word i up to word i+1's start."""
    starts = [0] + [s for s, _ in spans[1:]]
    ends = [s for s, _ in spans[1:]] + [n_units]
    return list(zip(starts, ends))


def interleave(
    units: Sequence[int],
    spans: Sequence[Tuple[int, int]],
    word_tokens: Sequence[Sequence[int]],
    replace: Sequence[bool],
    unit_offset: int,
) -> Tuple[List[int], List[bool]]:
    """The interleaved LLM token ids of one utterance, and which of them are units.

    ``spans[i]`` is word i's half-open unit span (ordered, non-overlapping);
    ``word_tokens[i]`` its text tokens; ``replace[i]`` whether it appears as text.
    """
    if not len(spans) == len(word_tokens) == len(replace):
        raise ValueError(f"{len(spans)} spans, {len(word_tokens)} words and {len(replace)} flags: "
                         "one of each per word")
    if not spans:
        return [unit_offset + int(u) for u in units], [True] * len(units)
    ids: List[int] = []
    is_unit: List[bool] = []
    for (a, b), tokens, as_text in zip(word_segments(spans, len(units)), word_tokens, replace):
        if as_text:
            ids.extend(int(t) for t in tokens)
            is_unit.extend([False] * len(tokens))
        else:
            ids.extend(unit_offset + int(u) for u in units[a:b])
            is_unit.extend([True] * (b - a))
    return ids, is_unit
