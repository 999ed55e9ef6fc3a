"""Inner-layer speech-text alignment with optimal transport, AI-STA (DESIGN.md 3.3).

At a chosen LLM layer, the hidden states of an utterance's projected speech
tokens H_s (n of them) and of its source transcript's tokens H_t (m, from a
text-only forward of the same LLM) are two point clouds. Their entropic OT
cost with uniform marginals,

    C_ij = 1 - cos(H_s_i, H_t_j)  [+ position_weight * |i/n - j/m|]
    P*   = argmin_P <P, C> - eps * H(P),  P 1 = 1/n,  P^T 1 = 1/m
    loss = <P*, C>

pulls the speech states towards the text states the LLM already knows how to
use. The solver is POT's batched log-domain Sinkhorn (``ot.solve_batch``,
torch backend): utterances of different lengths share one padded batch, the
padded positions getting zero mass, so one call solves the whole batch.

The plan is solved without autograd and the loss is ``<P*.detach(), C>``:
its gradient with respect to C is P*, the envelope-theorem gradient of the
entropic OT value (exact at convergence), at the memory of one cost matrix
instead of one per Sinkhorn iteration.
"""

from typing import Tuple

import ot
import torch


def gather_positions(hidden: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rows of ``hidden`` (B, L, D) where ``mask`` (B, L) is true, left-aligned and zero-padded.

    Returns (B, N, D) and the per-utterance counts (B,), N the largest count.
    """
    counts = mask.sum(1)
    n = int(counts.max()) if counts.numel() else 0
    out = hidden.new_zeros(hidden.size(0), max(n, 1), hidden.size(-1))
    # the j-th true position of each row goes to slot j (a scatter, no loop over utterances)
    slot = (mask.long().cumsum(1) - 1).clamp(min=0)
    rows = torch.arange(hidden.size(0), device=hidden.device)[:, None].expand_as(mask)
    out[rows[mask], slot[mask]] = hidden[mask]
    return out, counts


def length_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    return torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]


def cost_matrix(speech: torch.Tensor, speech_lengths: torch.Tensor, text: torch.Tensor,
                text_lengths: torch.Tensor, position_weight: float = 0.0) -> torch.Tensor:
    """C (B, N, M) = 1 - cos(speech_i, text_j) [+ position_weight * |i/n - j/m|], in float32.

    Padded entries are 0; they carry no mass in the plan.
    """
    s = torch.nn.functional.normalize(speech.float(), dim=-1, eps=1e-6)
    t = torch.nn.functional.normalize(text.float(), dim=-1, eps=1e-6)
    cost = 1.0 - s @ t.transpose(1, 2)
    if position_weight:
        n = speech_lengths.clamp(min=1).float()[:, None]
        m = text_lengths.clamp(min=1).float()[:, None]
        i = torch.arange(speech.size(1), device=speech.device).float()[None, :] / n
        j = torch.arange(text.size(1), device=speech.device).float()[None, :] / m
        cost = cost + position_weight * (i[:, :, None] - j[:, None, :]).abs()
    valid = length_mask(speech_lengths, speech.size(1))[:, :, None] & length_mask(text_lengths, text.size(1))[:, None, :]
    return cost * valid


def uniform_marginals(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """1/n on the first n positions of each row, 0 on the padding (B, size)."""
    mask = length_mask(lengths, size).float()
    return mask / lengths.clamp(min=1).float()[:, None]


def sinkhorn_plan(cost: torch.Tensor, speech_lengths: torch.Tensor, text_lengths: torch.Tensor,
                  eps: float = 0.1, max_iter: int = 100, tol: float = 1e-5) -> torch.Tensor:
    """The entropic OT plan (B, N, M) of a padded batch, by POT's batched log-domain Sinkhorn.

    An utterance without speech or text positions gets a one-point problem (its
    plan is then meaningless and ``ot_alignment_cost`` zeroes its cost): zero
    marginals would give NaN potentials and stall the batch's convergence test.
    """
    a = uniform_marginals(speech_lengths.clamp(min=1), cost.size(1))
    b = uniform_marginals(text_lengths.clamp(min=1), cost.size(2))
    with torch.no_grad():
        res = ot.solve_batch(cost.detach(), reg=eps, a=a, b=b, max_iter=max_iter, tol=tol,
                             method="log_sinkhorn", grad="detach")
    return res.plan


def ot_alignment_cost(speech: torch.Tensor, speech_lengths: torch.Tensor, text: torch.Tensor,
                      text_lengths: torch.Tensor, eps: float = 0.1, position_weight: float = 0.0,
                      max_iter: int = 100, tol: float = 1e-5) -> torch.Tensor:
    """Per-utterance OT cost <P*, C> (B,) between padded speech and text states.

    ``speech`` (B, N, D) with ``speech_lengths``; ``text`` (B, M, D) with
    ``text_lengths``. Utterances without speech or text positions cost 0.
    """
    if speech.dim() != 3 or text.dim() != 3 or speech.size(0) != text.size(0):
        raise ValueError(f"expected speech (B, N, D) and text (B, M, D), got {tuple(speech.shape)} "
                         f"and {tuple(text.shape)}")
    cost = cost_matrix(speech, speech_lengths, text, text_lengths, position_weight)
    plan = sinkhorn_plan(cost, speech_lengths, text_lengths, eps, max_iter, tol)
    per_utt = (plan.detach().to(cost.dtype) * cost).sum((1, 2))
    return torch.where((speech_lengths > 0) & (text_lengths > 0), per_utt, torch.zeros_like(per_utt))
