"""Auxiliary losses of the language-group MoE projector (DESIGN.md 3.1).

* language-specific loss: cross-entropy of the group router's logits against
  each token's language (label -1: unknown, masked);
* intra-group load balancing: Switch Transformer's E * sum_e f_e * P_e within
  every group, over the tokens that belong to the group (their label, or the
  router's argmax where the label is unknown), averaged over the groups that
  have tokens. It is 1 for perfectly even routing and E when one expert takes
  everything.

Plus the numbers the reporter logs: group routing accuracy and per-expert load.
"""

from typing import Dict, Optional, Sequence

import torch

from espnet_csst.projectors.moe import Routing

UNLABELLED = -1


def token_labels(frame_labels: torch.Tensor, frame_lengths: torch.Tensor, token_lengths: torch.Tensor,
                 num_tokens: int, num_groups: int, spans: Optional[torch.Tensor] = None,
                 span_frames: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Per-frame languages (B, F; -1 unknown or padding) -> per-token languages (B, num_tokens).

    Token i of an utterance with L tokens and F frames covers frames
    [i*F/L, (i+1)*F/L): proportional, since every encoder and projector keeps
    time order and rate. Tokens of uneven length (CTC segments) give their ``spans``
    (B, num_tokens, 2: first and one-past-last encoder frame) out of ``span_frames``
    (B,) encoder frames, mapped onto the label frames the same proportional way. A
    token gets the language that holds more than half of its frames, else -1 (a token
    that straddles a switch or silence teaches nothing).
    """
    b = frame_labels.size(0)
    dev = frame_labels.device
    onehot = torch.nn.functional.one_hot(frame_labels.clamp(min=-1) + 1, num_groups + 1)  # class 0: unknown
    cum = torch.cat([onehot.new_zeros(b, 1, num_groups + 1), onehot.cumsum(1)], dim=1)    # (B, F+1, G+1)
    i = torch.arange(num_tokens, device=dev)[None, :]
    frames = frame_lengths.to(dev)[:, None]
    if spans is None:
        tokens = token_lengths.to(dev).clamp(min=1)[:, None]
        lo, hi = i, i + 1
    else:
        tokens = span_frames.to(dev).clamp(min=1)[:, None]
        lo, hi = spans[..., 0].to(dev), spans[..., 1].to(dev)
    start = torch.minimum(lo * frames // tokens, frames)
    end = torch.minimum(torch.maximum(hi * frames // tokens, start + 1), frames)
    pick = lambda idx: cum.gather(1, idx[..., None].expand(-1, -1, num_groups + 1))  # noqa: E731
    counts = (pick(end) - pick(start))[..., 1:]                                       # (B, T', G)
    best_count, best = counts.max(-1)
    label = torch.where(2 * best_count > end - start, best, torch.full_like(best, UNLABELLED))
    return torch.where(i < token_lengths.to(dev)[:, None], label, torch.full_like(label, UNLABELLED))


def language_loss(routing: Routing, labels: torch.Tensor) -> Optional[torch.Tensor]:
    """Mean cross-entropy over labelled tokens; None when the batch has no labelled token."""
    keep = routing.mask & (labels >= 0)
    if not bool(keep.any()):
        return None
    return torch.nn.functional.cross_entropy(routing.group_logits[keep].float(), labels[keep])


def token_groups(routing: Routing, labels: torch.Tensor) -> torch.Tensor:
    """Each token's group: its language label where known, else the group router's choice."""
    return torch.where(labels >= 0, labels, routing.group_logits.argmax(-1))


def balance_loss(routing: Routing, labels: torch.Tensor) -> torch.Tensor:
    groups = token_groups(routing, labels)
    num_groups, num_experts = routing.expert_probs.shape[-2:]
    top_k = routing.topk_index.size(-1)
    per_group = []
    for g in range(num_groups):
        sel = routing.mask & (groups == g)
        n = int(sel.sum())
        if n == 0:
            continue
        probs = routing.expert_probs[sel][:, g]                              # (n, E)
        chosen = torch.nn.functional.one_hot(routing.topk_index[sel][:, g], num_experts).sum(1)
        f = chosen.float().sum(0) / (n * top_k)                              # fraction of assignments
        p = probs.mean(0)                                                    # mean router probability
        per_group.append(num_experts * (f * p).sum())
    if not per_group:
        return routing.expert_probs.new_zeros(())
    return torch.stack(per_group).mean()


def routing_stats(routing: Routing, labels: torch.Tensor, languages: Sequence[str]) -> Dict[str, torch.Tensor]:
    """What the reporter logs, detached: ``route_acc`` (group router vs labels, all labelled
    tokens) and ``route_acc_<lang>``, and ``load_<lang>_e<e>``, each expert's share of its
    group's assignments."""
    stats: Dict[str, torch.Tensor] = {}
    with torch.no_grad():
        keep = routing.mask & (labels >= 0)
        pred = routing.group_logits.argmax(-1)
        if bool(keep.any()):
            stats["route_acc"] = (pred[keep] == labels[keep]).float().mean()
        groups = token_groups(routing, labels)
        num_experts = routing.expert_probs.size(-1)
        for g, lang in enumerate(languages):
            mine = keep & (labels == g)
            if bool(mine.any()):
                stats[f"route_acc_{lang}"] = (pred[mine] == g).float().mean()
            sel = routing.mask & (groups == g)
            if not bool(sel.any()):
                continue
            chosen = torch.nn.functional.one_hot(routing.topk_index[sel][:, g], num_experts).sum(1)
            share = chosen.float().sum(0) / chosen.sum()
            for e in range(num_experts):
                stats[f"load_{lang}_e{e}"] = share[e]
    return stats
