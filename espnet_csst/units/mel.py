"""Log-mel analysis and the masked L1 between log-mels, shared by both unit vocoders.

:mod:`espnet_csst.units.vocoder` (``mel_gl``) predicts log-mel frames and
:mod:`espnet_csst.units.hifigan` compares the log-mels of generated and real
waveforms; both import these pieces from here, so neither vocoder module
imports the other for them (``vocoder`` -> ``hifigan`` is the only edge).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Optional, Union

import torch
import torchaudio

from espnet_csst.units.durations import length_mask

#: Floor of the mel energies before the log: silence maps to log(1e-5) ~ -11.5.
LOG_FLOOR = 1e-5


@dataclass(frozen=True)
class MelConfig:
    """Log-mel analysis; frozen (hashable) so the torchaudio transforms can be cached per config.

    A 40 ms window with a 10 ms hop is the usual speech analysis; n_fft 1024
    gives Griffin-Lim a finer frequency grid than the window alone would.
    ``power`` 1 (magnitude) is what Griffin-Lim inverts with the least error.
    """

    fs: int = 16000
    n_fft: int = 1024
    win_length: int = 640
    hop_length: int = 160
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float = 8000.0
    power: float = 1.0

    @classmethod
    def from_any(cls, mel: Union[None, dict, "MelConfig"]) -> "MelConfig":
        if mel is None:
            return cls()
        if isinstance(mel, MelConfig):
            return mel
        unknown = set(mel) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown mel option(s) {sorted(unknown)}; known: "
                             f"{[f.name for f in dataclasses.fields(cls)]}")
        return cls(**mel)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@functools.lru_cache(maxsize=8)
def _mel_transform(cfg: MelConfig) -> torchaudio.transforms.MelSpectrogram:
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=cfg.fs, n_fft=cfg.n_fft, win_length=cfg.win_length, hop_length=cfg.hop_length,
        f_min=cfg.f_min, f_max=cfg.f_max, n_mels=cfg.n_mels, power=cfg.power,
        norm="slaney", mel_scale="slaney",
    )


def log_mel(waveform: torch.Tensor, cfg: Optional[MelConfig] = None) -> torch.Tensor:
    """``(N,)`` -> ``(frames, n_mels)`` or ``(B, N)`` -> ``(B, frames, n_mels)``; frames = N // hop + 1."""
    cfg = cfg or MelConfig()
    waveform = torch.as_tensor(waveform, dtype=torch.float32)
    if waveform.dim() not in (1, 2):
        raise ValueError(f"log_mel expects a waveform of shape (N,) or (B, N), got {tuple(waveform.shape)}")
    mel = _mel_transform(cfg).to(waveform.device)(waveform)  # (..., n_mels, frames)
    return torch.log(mel.clamp(min=LOG_FLOOR)).transpose(-1, -2)


def masked_l1(pred: torch.Tensor, pred_lengths: torch.Tensor, target: torch.Tensor,
              target_lengths: torch.Tensor) -> torch.Tensor:
    """Mean L1 of ``(B, T, D)`` tensors over each utterance's frames present in both."""
    n = min(pred.shape[1], target.shape[1])
    pred, target = pred[:, :n], target[:, :n]
    mask = length_mask(torch.minimum(pred_lengths, target_lengths), n)[..., None].float()
    denom = (mask.sum() * pred.shape[-1]).clamp(min=1.0)
    return ((pred - target).abs() * mask).sum() / denom
