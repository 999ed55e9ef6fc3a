"""Language-group Mixture-of-Experts speech projector (DESIGN.md 3.1).

Encoder frames are stacked by ``downsample`` and each stacked token is routed
twice: a *group router* picks among G expert groups, one per language of the
corpus, and inside every group a *within-group router* picks the top-k of E
experts. The output is the group-weighted mixture

    y = sum_g pi_g * sum_{e in topk_g} w_ge * FFN_ge(x)

with pi = softmax(group logits) in training (soft mixing) and, with
``hard_group_at_inference``, the argmax group alone at inference. The group
logits are what the language-specific loss supervises and the within-group
router probabilities are what the load-balancing loss evens out
(``espnet_csst/losses/moe_losses.py``); both come back in a ``Routing``.

Dispatch loops over the G*E experts, never over tokens: each expert gathers
the tokens whose top-k chose it, runs once on that block, and scatter-adds its
weighted output back (the Switch/Mixtral way of running sparse experts without
a grouped-matmul kernel).
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch

from espnet_csst.projectors.abs_projector import AbsProjector, check_downsample, stack_frames


@dataclass
class Routing:
    """Router outputs of one batch, on the projector's token grid (B, T')."""

    group_logits: torch.Tensor     # (B, T', G)
    expert_probs: torch.Tensor     # (B, T', G, E) within-group softmax
    topk_index: torch.Tensor       # (B, T', G, k) chosen experts per group
    group_weights: torch.Tensor    # (B, T', G) the mixing weights used (soft or one-hot)
    mask: torch.Tensor             # (B, T') true at real (non-padded) tokens
    # tokens of uneven length (CTC segments, csst_model's speech_tokens: ctc_soft): each one's
    # encoder frames [first, last) out of span_frames, for the language labels (token_labels)
    spans: Optional[torch.Tensor] = None        # (B, T', 2)
    span_frames: Optional[torch.Tensor] = None  # (B,)


class MoEProjector(AbsProjector):
    default_languages = ("es", "en")

    def __init__(
        self,
        input_size: int,
        output_size: int,
        languages: Sequence[str] = default_languages,
        num_experts: int = 4,
        top_k: int = 1,
        downsample: int = 4,
        hidden_size: int = 1024,
        dropout: float = 0.0,
        hard_group_at_inference: bool = False,
    ):
        super().__init__()
        self.languages: List[str] = list(languages)
        if len(self.languages) < 1 or len(set(self.languages)) != len(self.languages):
            raise ValueError(f"projector_conf.languages must name distinct languages, got {self.languages}")
        if not 1 <= top_k <= num_experts:
            raise ValueError(f"projector_conf.top_k must be in [1, num_experts={num_experts}], got {top_k}")
        self.downsample = check_downsample(downsample)
        self.num_groups, self.num_experts, self.top_k = len(self.languages), num_experts, top_k
        self.hard_group_at_inference = hard_group_at_inference
        self._output_size = output_size
        d_in, n = input_size * downsample, self.num_groups * num_experts
        self.group_router = torch.nn.Linear(d_in, self.num_groups)
        # the G within-group routers as one linear layer: (.., G*E) viewed as (.., G, E)
        self.expert_router = torch.nn.Linear(d_in, n)
        # the G*E experts' two FFN layers, stacked: expert j = g * E + e
        self.w1 = torch.nn.Parameter(torch.empty(n, d_in, hidden_size))
        self.b1 = torch.nn.Parameter(torch.zeros(n, hidden_size))
        self.w2 = torch.nn.Parameter(torch.empty(n, hidden_size, output_size))
        self.b2 = torch.nn.Parameter(torch.zeros(n, output_size))
        for w in (self.w1, self.w2):  # nn.Linear's default init, per expert
            for j in range(n):
                torch.nn.init.kaiming_uniform_(w[j].T, a=5 ** 0.5)
        self.dropout = torch.nn.Dropout(dropout)

    def output_size(self) -> int:
        return self._output_size

    def language_index(self, lang: str) -> int:
        """The group of a language (its position in ``projector_conf.languages``)."""
        try:
            return self.languages.index(lang)
        except ValueError:
            raise ValueError(f"language '{lang}' has no expert group; projector_conf.languages is "
                             f"{self.languages}") from None

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        y, lens, _ = self.forward_with_routing(x, x_lens)
        return y, lens

    def forward_with_routing(self, x: torch.Tensor, x_lens: torch.Tensor):
        stacked, lens = stack_frames(x, x_lens, self.downsample)
        b, t, _ = stacked.shape
        mask = torch.arange(t, device=stacked.device)[None, :] < lens.to(stacked.device)[:, None]
        tokens = stacked[mask]                                            # (N, d_in), real tokens only
        group_logits = self.group_router(tokens)                          # (N, G)
        expert_logits = self.expert_router(tokens).view(-1, self.num_groups, self.num_experts)
        expert_probs = expert_logits.float().softmax(-1)                  # (N, G, E)
        top_w, top_i = expert_probs.topk(self.top_k, dim=-1)              # (N, G, k)
        top_w = top_w / top_w.sum(-1, keepdim=True)                       # renormalised over the top k
        pi = group_logits.float().softmax(-1)                             # (N, G)
        if self.hard_group_at_inference and not self.training:
            pi = torch.nn.functional.one_hot(pi.argmax(-1), self.num_groups).to(pi.dtype)
        out = self._dispatch(tokens, top_i, top_w * pi[..., None])

        y = stacked.new_zeros(b, t, self._output_size, dtype=out.dtype)
        y[mask] = out
        routing = Routing(
            group_logits=self._to_grid(group_logits, mask),
            expert_probs=self._to_grid(expert_probs, mask),
            topk_index=self._to_grid(top_i, mask),
            group_weights=self._to_grid(pi, mask),
            mask=mask,
        )
        return y, lens, routing

    def _dispatch(self, tokens: torch.Tensor, top_i: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """sum over (group, chosen expert) of weight * FFN_ge(token), one block per expert.

        top_i, weight: (N, G, k). Groups whose weight is exactly 0 (hard routing)
        are not run for that token.
        """
        n_tok = tokens.size(0)
        expert_id = top_i + torch.arange(self.num_groups, device=top_i.device)[None, :, None] * self.num_experts
        expert_id, weight = expert_id.reshape(-1), weight.reshape(-1)    # (N*G*k,)
        token_id = torch.arange(n_tok, device=tokens.device).repeat_interleave(self.num_groups * self.top_k)
        keep = weight > 0
        expert_id, weight, token_id = expert_id[keep], weight[keep], token_id[keep]
        order = expert_id.argsort(stable=True)
        expert_id, weight, token_id = expert_id[order], weight[order], token_id[order]
        counts = torch.bincount(expert_id, minlength=self.w1.size(0)).tolist()
        out = tokens.new_zeros(n_tok, self._output_size)
        start = 0
        for j, count in enumerate(counts):
            if count == 0:
                continue
            rows = token_id[start : start + count]
            h = torch.nn.functional.gelu(tokens[rows] @ self.w1[j] + self.b1[j])
            h = self.dropout(h) @ self.w2[j] + self.b2[j]
            out = out.index_add(0, rows, (h * weight[start : start + count, None]).to(out.dtype))
            start += count
        return out

    @staticmethod
    def _to_grid(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        grid = values.new_zeros(*mask.shape, *values.shape[1:])
        grid[mask] = values
        return grid


def naive_moe_reference(proj: MoEProjector, x: torch.Tensor, x_lens: torch.Tensor,
                        hard_group: Optional[bool] = None) -> torch.Tensor:
    """Token-by-token evaluation of the same mixture (tests and bench only: slow on purpose)."""
    hard = proj.hard_group_at_inference and not proj.training if hard_group is None else hard_group
    stacked, lens = stack_frames(x, x_lens, proj.downsample)
    y = torch.zeros(*stacked.shape[:2], proj.output_size())
    for bi in range(stacked.size(0)):
        for ti in range(int(lens[bi])):
            tok = stacked[bi, ti]
            pi = proj.group_router(tok).softmax(-1)
            if hard:
                pi = torch.nn.functional.one_hot(pi.argmax(), proj.num_groups).float()
            probs = proj.expert_router(tok).view(proj.num_groups, proj.num_experts).softmax(-1)
            for g in range(proj.num_groups):
                w, idx = probs[g].topk(proj.top_k)
                w = w / w.sum()
                for wk, e in zip(w, idx):
                    j = g * proj.num_experts + int(e)
                    h = torch.nn.functional.gelu(tok @ proj.w1[j] + proj.b1[j]) @ proj.w2[j] + proj.b2[j]
                    y[bi, ti] += pi[g] * wk * h
    return y
