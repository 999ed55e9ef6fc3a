"""Durations of deduplicated units, for the unit vocoders (DESIGN.md 3.4, "deduplication optional").

Deduplication (``dump_units --dedup true``) turns ``5 5 5 7 7`` into ``5 7``
and drops how long each unit lasted (``3 2`` unit frames). The unit LM then
works on shorter sequences, but a vocoder has to put the durations back: it
predicts them, as the unit HiFi-GAN of direct S2ST with discrete units does.
The pieces are ESPnet's FastSpeech ones (a conv duration predictor trained
with MSE on log durations, and the length regulator that repeats each vector
``d`` times); this module only ties them to unit masks and keeps every
predicted duration at least 1 (a deduplicated unit always lasted one frame).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from espnet.nets.pytorch_backend.fastspeech.duration_predictor import DurationPredictor, DurationPredictorLoss
from espnet.nets.pytorch_backend.fastspeech.length_regulator import LengthRegulator


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``(B,)`` lengths -> ``(B, max_len)`` bool, True on real positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class UnitDurationModel(nn.Module):
    """Predict and apply the frame counts of deduplicated units from their hidden vectors ``(B, T, C)``."""

    def __init__(self, in_dim: int, layers: int = 2, channels: int = 256, kernel_size: int = 3,
                 dropout: float = 0.1):
        super().__init__()
        self.predictor = DurationPredictor(in_dim, n_layers=layers, n_chans=channels, kernel_size=kernel_size,
                                           dropout_rate=dropout)
        self.criterion = DurationPredictorLoss()
        self.regulator = LengthRegulator()

    def loss(self, x: torch.Tensor, lengths: torch.Tensor, durations: torch.Tensor) -> torch.Tensor:
        """MSE between predicted and true ``log(d + 1)`` over the real units."""
        mask = length_mask(lengths, x.shape[1])
        log_d = self.predictor(x, ~mask)
        return self.criterion(log_d[mask], durations.to(x.device)[mask])

    @torch.no_grad()
    def predict(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` integer durations, at least 1 on real units and 0 on padding."""
        mask = length_mask(lengths, x.shape[1])
        return self.predictor.inference(x, ~mask).clamp(min=1).masked_fill(~mask, 0)

    def expand(self, x: torch.Tensor, durations: torch.Tensor) -> torch.Tensor:
        """Repeat unit ``t`` of each utterance ``durations[b, t]`` times: ``(B, max(sum d), C)``, zero padded."""
        return self.regulator(x, durations.to(x.device).long())


def expand_units(model: Optional[UnitDurationModel], x: torch.Tensor, lengths: torch.Tensor,
                 durations: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Unit-rate vectors -> unit-frame-rate vectors and frame counts: by ``durations`` (training), by
    ``model``'s predictions (synthesis), or unchanged when the vocoder has no duration model."""
    if model is None:
        return x, lengths
    if durations is None:
        durations = model.predict(x, lengths)
    durations = durations.to(x.device)
    return model.expand(x, durations), durations.sum(1)


def check_durations(units: Dict[str, List[int]], durations: Dict[str, List[int]], path: Path) -> None:
    """Raise ValueError unless every utterance of ``units`` has one positive duration per unit in ``path``."""
    for utt, u in units.items():
        d = durations.get(utt)
        if d is None:
            raise ValueError(f"{path}: no durations for utterance {utt}; the durations file must come from the "
                             "same dump_units --dedup true run as the units")
        if len(d) != len(u) or any(x < 1 for x in d):
            raise ValueError(f"{path}: utterance {utt} has {len(d)} durations for {len(u)} units (each must be "
                             ">= 1); the durations file must come from the same dump_units run as the units")
