from abc import ABC, abstractmethod
from typing import Dict, List, Optional

import torch


class AbsLLM(torch.nn.Module, ABC):
    """A decoder-only language model that reads embeddings and writes token logits."""

    @abstractmethod
    def hidden_size(self) -> int:
        ...

    @abstractmethod
    def max_positions(self) -> Optional[int]:
        """Longest sequence the model accepts (None: unbounded)."""

    @abstractmethod
    def vocab_size(self) -> int:
        ...

    @abstractmethod
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) token ids -> (B, L, D) input embeddings."""

    @abstractmethod
    def embed_table(self) -> torch.Tensor:
        """The input embedding matrix (vocab, hidden)."""

    @abstractmethod
    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                output_hidden_states: bool = False) -> Dict[str, torch.Tensor]:
        """Returns ``{"logits": (B, L, V)}`` (+ ``"hidden_states"``: tuple per layer)."""

    @abstractmethod
    def generate(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                 **kwargs) -> List[List[dict]]:
        """Continue left-padded prompts; n-best per prompt as dicts (token_int, score)."""
