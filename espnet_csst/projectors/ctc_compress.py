"""CTC-compressed speech tokens: one LLM input per source token the CTC emits.

The mini LLM is pre-trained on text with the source transcript's tokens in the slot where the
speech goes later (``espnet_csst/bin/llm_pretrain.py``). A projector trained from nothing has to
discover that space; measured on the mini recipe with a frozen Whisper encoder, it does not
within stage A's budget (doc/whisper.md: teacher-forced accuracy stays at the text prior).
A CTC head over the LLM's own vocabulary on the adapter already says, per frame, which of those
tokens is being spoken. Its greedy path cut into segments (a run of frames with one non-blank
label; blank frames dropped, as in CTC compression for speech translation, Gaido et al.
2021) gives one speech token per emitted token, and the segment's mean posterior over
the non-blank labels times the LLM's embedding table is a soft version of that token's text
embedding (LegoSLM's CTC-posterior prompts do the same with a pretrained ASR's vocabulary).
The language-group MoE projector then adds its output to it, per segment.

Written here because no library cuts CTC posteriors into segments on a batch: torchaudio's
``ctc_decoder`` and ``forced_align`` return label sequences, not pooled frames.
"""

from dataclasses import dataclass

import torch


@dataclass
class CTCSegments:
    """Per-segment pooling of one batch; S is the most segments of an utterance."""

    frames: torch.Tensor       # (B, S, D) mean encoder frame of each segment
    posteriors: torch.Tensor   # (B, S, V+1) mean CTC posterior of each segment (class 0: blank)
    lengths: torch.Tensor      # (B,) segments per utterance
    spans: torch.Tensor        # (B, S, 2) first and one-past-last encoder frame of each segment


def ctc_segments(enc: torch.Tensor, enc_lens: torch.Tensor, probs: torch.Tensor) -> CTCSegments:
    """Cut each utterance's greedy CTC path into segments and pool frames and posteriors.

    enc: (B, T, D) encoder frames, probs: (B, T, V+1) their CTC posteriors (blank 0).
    A segment is a maximal run of frames whose argmax is the same non-blank class. An
    utterance whose frames are all blank (an untrained head) gets one segment over all of
    its frames, so every utterance gives the LLM at least one speech token.
    """
    b, t, _ = enc.shape
    dev = enc.device
    valid = torch.arange(t, device=dev)[None, :] < enc_lens.to(dev)[:, None]
    best = probs.argmax(-1)
    member = valid & (best != 0)
    empty = ~member.any(1)
    member = torch.where(empty[:, None], valid, member)
    prev_best = torch.nn.functional.pad(best, (1, 0), value=-1)[:, :-1]
    prev_member = torch.nn.functional.pad(member, (1, 0), value=False)[:, :-1]
    # an all-blank row's frames all have label 0, so it starts once, at its first frame
    starts = member & (~prev_member | (best != prev_best))
    lengths = starts.sum(1)
    s_max = max(int(lengths.max()) if b else 0, 1)
    seg = (starts.cumsum(1) - 1).clamp(min=0)                      # (B, T) segment of each frame
    slot = torch.arange(b, device=dev)[:, None] * s_max + seg       # (B, T) row of (B * S) per frame

    def pool(values: torch.Tensor) -> torch.Tensor:
        total = values.new_zeros(b * s_max, values.size(-1)).index_add(0, slot[member], values[member])
        return total.view(b, s_max, -1)

    count = pool(torch.ones(b, t, 1, device=dev))  # float32: exact frame counts under bf16 autocast
    # segments are contiguous runs: each spans [its start frame, start + its frame count)
    first = torch.zeros(b * s_max, device=dev, dtype=torch.long).index_copy(
        0, slot[starts], torch.arange(t, device=dev).expand(b, t)[starts]).view(b, s_max)
    spans = torch.stack([first, first + count[..., 0].long()], -1)
    count = count.clamp(min=1)  # padding segments: no frames, nothing to divide
    return CTCSegments(frames=pool(enc) / count.to(enc.dtype), posteriors=pool(probs) / count.to(probs.dtype),
                       lengths=lengths, spans=spans)


def soft_token_embeddings(posteriors: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """(B, S, V+1) segment posteriors -> (B, S, D): the expected LLM embedding of the non-blank
    label, class k + 1 being token id k (the CTC's class layout in csst_model)."""
    labels = posteriors[..., 1:]
    labels = labels / labels.sum(-1, keepdim=True).clamp(min=1e-6)
    return labels.to(table.dtype) @ table[: labels.size(-1)]  # rows past the CTC's classes: never emitted
