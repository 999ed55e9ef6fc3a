"""Word times from CTC forced alignment: how a corpus without word alignments gets them (DESIGN.md 3.4).

S2ST interleaving replaces the speech units of a word by the word's text, so
it needs each word's time span. The mini corpus knows them; a real corpus
is aligned here with the recipe's CTC ASR model: the transcript's tokens
(characters, with ``<space>`` between words, as the model was trained) are
aligned to the model's CTC log-probabilities by Viterbi
(``torchaudio.functional.forced_align``), and a word spans the frames from
its first token's first frame to its last token's last frame. With a peaky
CTC model the spans are tight around the emitted characters; the blank and
``<space>`` frames between words stay outside every word.

Frame indices become seconds with ``duration / n_frames``, the real length
of one CTC frame whatever the encoder's subsampling, so the last frame ends
exactly at the end of the audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch


class TranscriptTooLongError(ValueError):
    """The transcript needs more CTC frames than the utterance has."""


@dataclass(frozen=True)
class FrameSpan:
    """Frames ``[start, end)`` of the CTC output."""

    start: int
    end: int


def ctc_min_frames(targets: Sequence[int]) -> int:
    """Frames CTC needs for ``targets``: one per token plus a blank between equal neighbours."""
    return len(targets) + sum(1 for a, b in zip(targets, targets[1:]) if a == b)


def join_words(word_ids: Sequence[Sequence[int]], space_id: int) -> Tuple[List[int], List[int]]:
    """The target sequence (words joined by ``space_id``) and, per position, its word index (-1: space)."""
    targets: List[int] = []
    owner: List[int] = []
    for w, ids in enumerate(word_ids):
        if not ids:
            raise ValueError(f"word {w} has no tokens; drop empty words before aligning")
        if w:
            targets.append(space_id)
            owner.append(-1)
        targets += [int(i) for i in ids]
        owner += [w] * len(ids)
    return targets, owner


def forced_align_tokens(log_probs: torch.Tensor, targets: Sequence[int], blank: int = 0) -> List[FrameSpan]:
    """One frame span per target token, in order, on the Viterbi CTC path.

    ``log_probs`` is (frames, vocabulary). Raises TranscriptTooLongError
    when the targets cannot fit into the frames.
    """
    import torchaudio.functional as AF

    if log_probs.ndim != 2:
        raise ValueError(f"log_probs must be (frames, vocabulary), got shape {tuple(log_probs.shape)}")
    if not targets:
        return []
    need, have = ctc_min_frames(targets), log_probs.shape[0]
    if need > have:
        raise TranscriptTooLongError(f"the transcript needs at least {need} CTC frames, the audio has {have}")
    if blank in targets:
        raise ValueError(f"the targets contain the blank id {blank}")
    path, scores = AF.forced_align(log_probs[None].float().cpu(),
                                   torch.tensor([list(targets)], dtype=torch.int32), blank=blank)
    spans = AF.merge_tokens(path[0], scores[0].exp(), blank=blank)
    # The collapsed Viterbi path is the target sequence itself, so spans and targets pair up.
    assert [s.token for s in spans] == list(targets), "forced alignment path does not spell the targets"
    return [FrameSpan(s.start, s.end) for s in spans]


def word_frame_spans(log_probs: torch.Tensor, word_ids: Sequence[Sequence[int]], space_id: int,
                     blank: int = 0) -> List[FrameSpan]:
    """Per word, the frames from its first token's start to its last token's end."""
    targets, owner = join_words(word_ids, space_id)
    token_spans = forced_align_tokens(log_probs, targets, blank)
    words: List[FrameSpan] = []
    for w in range(len(word_ids)):
        mine = [s for s, o in zip(token_spans, owner) if o == w]
        words.append(FrameSpan(mine[0].start, mine[-1].end))
    return words


def spans_to_seconds(spans: Sequence[FrameSpan], n_frames: int, duration: float) -> List[Tuple[float, float]]:
    """Frame spans as (start, end) seconds, rounded to milliseconds, inside ``[0, duration]``.

    Rounding is monotone, so spans that did not overlap in frames do not
    overlap in seconds either.
    """
    if n_frames <= 0 or duration <= 0:
        raise ValueError(f"need a positive number of frames and duration, got {n_frames} and {duration}")
    spf = duration / n_frames
    limit = int(duration * 1000) / 1000  # round down: the last word must not end after the audio
    out = []
    for s in spans:
        start = min(round(s.start * spf, 3), limit)
        end = min(round(s.end * spf, 3), limit)
        out.append((start, end))
    return out
