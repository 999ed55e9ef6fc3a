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


def zero_padding(x: torch.Tensor, x_lens: torch.Tensor) -> torch.Tensor:
    """Zero the frames at and beyond each sequence's length.

    Encoders leave arbitrary values in padded frames; a frame group that straddles the
    end of a sequence must see zeros there, as it does when the sequence is alone.
    """
    valid = torch.arange(x.size(1), device=x.device)[None, :] < x_lens.to(x.device)[:, None]
    return x.masked_fill(~valid[..., None], 0.0)


def stack_frames(x: torch.Tensor, x_lens: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Concatenate every ``k`` consecutive frames: (B, T, D) -> (B, ceil(T/k), k*D).

    Frames beyond each length and the tail are zero-padded; the output length counts a
    partial group as a frame.
    """
    x = zero_padding(x, x_lens)
    b, t, d = x.shape
    pad = (-t) % k
    if pad:
        x = torch.nn.functional.pad(x, (0, 0, 0, pad))
    return x.reshape(b, (t + pad) // k, k * d), torch.div(x_lens + k - 1, k, rounding_mode="floor")
