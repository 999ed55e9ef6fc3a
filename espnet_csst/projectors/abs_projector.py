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

    def forward_with_routing(self, x: torch.Tensor, x_lens: torch.Tensor):
        """forward() plus the router outputs of a routed projector (None for the others)."""
        y, lens = self.forward(x, x_lens)
        return y, lens, None


def zero_padding(x: torch.Tensor, x_lens: torch.Tensor) -> torch.Tensor:
    """Zero the frames at and beyond each sequence's length.

    Encoders leave arbitrary values in padded frames; a frame group that straddles the
    end of a sequence must see zeros there, as it does when the sequence is alone.
    """
    valid = torch.arange(x.size(1), device=x.device)[None, :] < x_lens.to(x.device)[:, None]
    return x.masked_fill(~valid[..., None], 0.0)


def check_downsample(k: int) -> int:
    if k < 1:
        raise ValueError(f"projector_conf.downsample must be >= 1, got {k}")
    return k


def pad_frames(x: torch.Tensor, x_lens: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Zero frames beyond each length and pad T to a multiple of ``k``.

    Returns the padded frames and the output lengths ceil(len / k) (a partial
    group counts as a frame).
    """
    x = zero_padding(x, x_lens)
    pad = (-x.size(1)) % k
    if pad:
        x = torch.nn.functional.pad(x, (0, 0, 0, pad))
    return x, torch.div(x_lens + k - 1, k, rounding_mode="floor")


def stack_frames(x: torch.Tensor, x_lens: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Concatenate every ``k`` consecutive frames: (B, T, D) -> (B, ceil(T/k), k*D)."""
    x, lens = pad_frames(x, x_lens, k)
    b, t, d = x.shape
    return x.reshape(b, t // k, k * d), lens
