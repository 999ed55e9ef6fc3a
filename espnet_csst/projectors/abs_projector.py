from abc import ABC, abstractmethod
from typing import Tuple

import torch


class AbsProjector(torch.nn.Module, ABC):
    """Maps speech-encoder frames to LLM input embeddings, usually at a lower frame rate.

    Subclasses get ``input_size`` (encoder width) and ``output_size`` (LLM
    width) from the task; everything else comes from ``projector_conf``.
    """

    @abstractmethod
    def output_size(self) -> int:
        ...

    @abstractmethod
    def forward(self, x: torch.Tensor, x_lens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, T, input_size), (B,) -> (B, T', output_size), (B,)"""


def stack_frames(x: torch.Tensor, x_lens: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Concatenate every ``k`` consecutive frames: (B, T, D) -> (B, ceil(T/k), k*D).

    The tail is zero-padded; the output length counts a partial group as a frame.
    """
    b, t, d = x.shape
    pad = (-t) % k
    if pad:
        x = torch.nn.functional.pad(x, (0, 0, 0, pad))
    return x.reshape(b, (t + pad) // k, k * d), torch.div(x_lens + k - 1, k, rounding_mode="floor")
