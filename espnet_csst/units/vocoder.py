"""A cheap unit-to-speech vocoder: discrete units -> log-mel frames (small conv net) -> Griffin-Lim.

The S2ST model writes discrete speech units (k-means cluster ids in ``[0, K)``,
one per ``unit_hop`` samples of 16 kHz audio, e.g. 640 samples = 40 ms); ASR-BLEU
needs audio. Real data gets the unit HiFi-GAN of :mod:`espnet_csst.units.hifigan`
(ESPnet's ``espnet2.gan_tts`` generator and discriminators), but that takes
GPU-hours. The mini recipe has to train its vocoder in about 2-3 minutes on 2
CPU cores, so this one (``--vocoder_type mel_gl``) is deliberately simple:

1. :class:`UnitMelVocoder` embeds the units, runs a residual conv stack at the
   unit rate, repeats every unit ``unit_hop // hop_length`` times to the mel
   frame rate (plus a learned "position inside the unit" embedding, so the
   frames of one unit need not be identical), smooths with a couple of convs at
   the mel rate and predicts 80 log-mel bins; it is trained with a masked L1
   loss against the log-mels of the real audio. For deduplicated units a
   duration model (:mod:`espnet_csst.units.durations`) first repeats each unit
   as many unit frames as it lasted.
2. :func:`mel_to_waveform` inverts the log-mel (:mod:`espnet_csst.units.mel`)
   with torchaudio's ``InverseMelScale`` (least squares) and ``griffinlim``
   (phase reconstruction, deterministic start). The speech sounds metallic but is
   intelligible enough for an ASR model to score the translation content.

:func:`save_vocoder` / :func:`load_vocoder` keep either vocoder as ``config.yaml``
(its type and constructor arguments) + ``model.pth`` (a state dict, loaded with
``weights_only=True``); :class:`UnitVocoder` turns unit sequences into waveforms.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torchaudio
import yaml

from espnet_csst.units.durations import UnitDurationModel, expand_units, length_mask
from espnet_csst.units.hifigan import UnitHiFiGAN
from espnet_csst.units.mel import MelConfig, masked_l1
from espnet_csst.utils.fileio import atomic_open, atomic_write_text

CONFIG_NAME = "config.yaml"
MODEL_NAME = "model.pth"


@functools.lru_cache(maxsize=8)
def _inverse_mel(cfg: MelConfig) -> torchaudio.transforms.InverseMelScale:
    return torchaudio.transforms.InverseMelScale(
        n_stft=cfg.n_fft // 2 + 1, n_mels=cfg.n_mels, sample_rate=cfg.fs, f_min=cfg.f_min,
        f_max=cfg.f_max, norm="slaney", mel_scale="slaney",
    )


def mel_to_waveform(log_mel_frames, cfg: Optional[MelConfig] = None, n_iter: int = 32,
                    length: Optional[int] = None) -> np.ndarray:
    """Invert ``(frames, n_mels)`` log-mels to a float32 waveform peak-normalised to 0.95.

    ``length`` defaults to ``frames * hop_length`` samples. Griffin-Lim starts
    from zero phase (``rand_init=False``), so the result is deterministic.
    """
    cfg = cfg or MelConfig()
    lm = torch.as_tensor(log_mel_frames, dtype=torch.float32).detach().cpu()
    if lm.dim() != 2 or lm.shape[1] != cfg.n_mels:
        raise ValueError(f"mel_to_waveform expects (frames, {cfg.n_mels}) log-mels, got {tuple(lm.shape)}")
    if lm.shape[0] == 0:
        raise ValueError("mel_to_waveform got zero frames; there is nothing to synthesise")
    length = lm.shape[0] * cfg.hop_length if length is None else int(length)
    # Centred STFT frames f cover sample f * hop, so F frames make (F - 1) * hop samples: repeat
    # the last frame until they reach `length` (N samples of audio have N // hop + 1 frames).
    missing = max(0, -(-(length - (lm.shape[0] - 1) * cfg.hop_length) // cfg.hop_length))
    if missing:
        lm = torch.cat([lm, lm[-1:].expand(missing, -1)])
    mel = lm.exp().T  # (n_mels, frames), back to linear magnitude
    linear = _inverse_mel(cfg)(mel)  # (n_fft//2+1, frames), least squares, clamped at 0
    window = torch.hann_window(cfg.win_length)
    wav = torchaudio.functional.griffinlim(
        linear, window=window, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        power=cfg.power, n_iter=n_iter, momentum=0.99, length=(lm.shape[0] - 1) * cfg.hop_length,
        rand_init=False,
    )[:length]
    wav = torch.nan_to_num(wav, nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(wav.abs().max())
    if peak > 0:
        wav = wav * (0.95 / peak)
    return wav.numpy().astype(np.float32)


class _ResConvBlock(nn.Module):
    """Conv1d -> GELU -> dropout, added back to its input, then LayerNorm over channels."""

    def __init__(self, channels: int, kernel_size: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x (B, T, C); mask (B, T, 1). Zeroing the padding keeps a batched forward
        # equal to a per-utterance one (the conv would otherwise see padded frames).
        h = self.conv((x * mask).transpose(1, 2)).transpose(1, 2)
        return self.norm(x + self.drop(self.act(h))) * mask


class UnitMelVocoder(nn.Module):
    """Discrete units ``(B, T)`` -> log-mel frames ``(B, frames, n_mels)`` and their lengths.

    Without a duration model every unit lasts one unit frame (``upsample`` mel
    frames). With ``duration_predictor=True`` the units are deduplicated ones:
    unit ``t`` lasts ``durations[t]`` unit frames, given in training and
    predicted at synthesis (:class:`~espnet_csst.units.durations.UnitDurationModel`).
    """

    def __init__(self, n_units: int, unit_hop: int = 640, mel: Union[None, dict, MelConfig] = None,
                 embed_dim: int = 128, channels: int = 256, kernel_size: int = 5, num_layers: int = 4,
                 mel_layers: int = 2, dropout: float = 0.1, duration_predictor: bool = False,
                 duration_channels: int = 256):
        super().__init__()
        self.mel_cfg = MelConfig.from_any(mel)
        if n_units < 1:
            raise ValueError(f"n_units must be at least 1, got {n_units}")
        if unit_hop <= 0 or unit_hop % self.mel_cfg.hop_length:
            raise ValueError(f"unit_hop ({unit_hop} samples) must be a positive multiple of the mel hop_length "
                             f"({self.mel_cfg.hop_length}); change one of them")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same-length convs), got {kernel_size}")
        self.n_units, self.unit_hop = n_units, unit_hop
        self.upsample = unit_hop // self.mel_cfg.hop_length
        # Everything needed to rebuild the model (what save_vocoder writes to config.yaml).
        self.hparams = dict(n_units=n_units, unit_hop=unit_hop, mel=self.mel_cfg.to_dict(), embed_dim=embed_dim,
                            channels=channels, kernel_size=kernel_size, num_layers=num_layers,
                            mel_layers=mel_layers, dropout=dropout, duration_predictor=duration_predictor,
                            duration_channels=duration_channels)
        self.embed = nn.Embedding(n_units, embed_dim)
        self.in_proj = nn.Linear(embed_dim, channels)
        self.unit_blocks = nn.ModuleList(_ResConvBlock(channels, kernel_size, dropout) for _ in range(num_layers))
        self.durations = (UnitDurationModel(channels, channels=duration_channels, dropout=dropout)
                          if duration_predictor else None)
        # Which of the `upsample` frames of a unit frame this is: lets the frames inside one unit differ.
        self.sub_frame = nn.Embedding(self.upsample, channels)
        self.mel_blocks = nn.ModuleList(_ResConvBlock(channels, kernel_size, dropout) for _ in range(mel_layers))
        self.out = nn.Linear(channels, self.mel_cfg.n_mels)

    @property
    def fs(self) -> int:
        return self.mel_cfg.fs

    def encode(self, units: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` units -> ``(B, T, channels)`` context vectors at the unit rate (zero on padding)."""
        if units.dim() != 2:
            raise ValueError(f"units must be (B, T), got shape {tuple(units.shape)}")
        unit_mask = length_mask(lengths, units.shape[1])[..., None].float()
        x = self.in_proj(self.embed(units.clamp(min=0) * unit_mask[..., 0].long())) * unit_mask
        for block in self.unit_blocks:
            x = block(x, unit_mask)
        return x

    def decode(self, x: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
        """``(B, F, channels)`` vectors per unit frame -> ``(B, F * upsample, n_mels)`` log-mels."""
        x = x.repeat_interleave(self.upsample, dim=1)  # (B, F * upsample, C)
        frame_pos = torch.arange(x.shape[1], device=x.device) % self.upsample
        x = x + self.sub_frame(frame_pos)[None]
        mel_mask = length_mask(frame_lengths * self.upsample, x.shape[1])[..., None].float()
        for block in self.mel_blocks:
            x = block(x, mel_mask)
        return self.out(x)

    def expand(self, x: torch.Tensor, lengths: torch.Tensor,
               durations: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        return expand_units(self.durations, x, lengths, durations)

    def forward(self, units: torch.Tensor, lengths: torch.Tensor,
                durations: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(log-mels (B, frames, n_mels), mel lengths (B,))``; ``durations`` only with a duration model."""
        lengths = lengths.to(units.device)
        x, frame_lengths = self.expand(self.encode(units, lengths), lengths, durations)
        return self.decode(x, frame_lengths), frame_lengths * self.upsample

    def loss(self, units: torch.Tensor, lengths: torch.Tensor, mel_target: torch.Tensor,
             mel_lengths: torch.Tensor, durations: Optional[torch.Tensor] = None
             ) -> Tuple[torch.Tensor, Dict[str, float]]:
        """``(loss, stats)``: masked L1 over the frames both the prediction and the target have, plus
        the duration loss with a duration model (``durations`` required then: teacher forcing).

        The unit count and the audio's frame count differ by a frame or two
        (the STFT's centre frame, a partial last unit), so each utterance is
        compared over the shorter of the two.
        """
        if self.durations is not None and durations is None:
            raise ValueError("this vocoder has a duration model: training needs the true durations")
        lengths = lengths.to(units.device)
        x = self.encode(units, lengths)
        stats: Dict[str, float] = {}
        dur_loss = x.new_zeros(())
        if self.durations is not None:
            dur_loss = self.durations.loss(x, lengths, durations)
            stats["dur"] = dur_loss.item()
        x, frame_lengths = self.expand(x, lengths, durations)
        pred = self.decode(x, frame_lengths)
        l1 = masked_l1(pred, frame_lengths * self.upsample, mel_target.to(pred.device), mel_lengths.to(pred.device))
        stats["mel_l1"] = l1.item()
        return l1 + dur_loss, stats


def pad_units(unit_lists: Sequence[Sequence[int]]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-pad unit sequences with 0 into ``(B, T)`` plus their lengths ``(B,)``."""
    lengths = torch.tensor([len(u) for u in unit_lists], dtype=torch.long)
    out = torch.zeros(len(unit_lists), int(lengths.max()) if len(unit_lists) else 0, dtype=torch.long)
    for k, u in enumerate(unit_lists):
        out[k, : len(u)] = torch.as_tensor(list(u), dtype=torch.long)
    return out, lengths


def vocoder_classes() -> Dict[str, type]:
    """``--vocoder_type`` -> model class."""
    return {"mel_gl": UnitMelVocoder, "hifigan": UnitHiFiGAN}


def vocoder_type_of(model: nn.Module) -> str:
    for name, cls in vocoder_classes().items():
        if isinstance(model, cls):
            return name
    raise TypeError(f"{type(model).__name__} is not a unit vocoder ({sorted(vocoder_classes())})")


def save_vocoder(out_dir, model: nn.Module, config: Optional[dict] = None) -> None:
    """Write ``out_dir/config.yaml`` (``config`` plus the model's type under ``vocoder_type`` and its
    constructor arguments under ``vocoder``) and ``out_dir/model.pth`` (state dict), both atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    full = {**(config or {}), "vocoder_type": vocoder_type_of(model), "vocoder": model.hparams}
    with atomic_open(out_dir / MODEL_NAME, "wb") as f:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, f)
    atomic_write_text(out_dir / CONFIG_NAME, yaml.safe_dump(full, sort_keys=False))


def load_vocoder(vocoder_dir, device: Union[str, torch.device] = "cpu") -> Tuple[nn.Module, dict]:
    """Rebuild a vocoder written by :func:`save_vocoder`; returns ``(model in eval mode, config)``."""
    vocoder_dir = Path(vocoder_dir)
    for name in (CONFIG_NAME, MODEL_NAME):
        if not (vocoder_dir / name).is_file():
            raise FileNotFoundError(f"{vocoder_dir}: no {name}; give the --out_dir of "
                                    "`python -m espnet_csst.bin.train_unit_vocoder`")
    with open(vocoder_dir / CONFIG_NAME, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    if not isinstance(config.get("vocoder"), dict):
        raise ValueError(f"{vocoder_dir / CONFIG_NAME}: no 'vocoder' section with the model options; "
                         "it was not written by save_vocoder")
    classes = vocoder_classes()
    kind = config.get("vocoder_type", "mel_gl")  # vocoders saved before HiFi-GAN existed are mel_gl
    if kind not in classes:
        raise ValueError(f"{vocoder_dir / CONFIG_NAME}: unknown vocoder_type {kind!r}; known: {sorted(classes)}")
    model = classes[kind](**config["vocoder"])
    state = torch.load(vocoder_dir / MODEL_NAME, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ValueError(f"{vocoder_dir / MODEL_NAME} does not match {vocoder_dir / CONFIG_NAME}: {e}") from None
    return model.to(device).eval(), config


class UnitVocoder:
    """Units -> waveforms with a trained vocoder dir: ``UnitVocoder("exp/vocoder")([3, 3, 17, ...])``.

    Works with both vocoder types; a vocoder with a duration model takes
    deduplicated units and predicts how long each lasts, so its output length
    is the sum of the predicted durations times ``unit_hop``.
    """

    def __init__(self, vocoder_dir, n_iter: int = 32, device: Union[None, str, torch.device] = None):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model, self.config = load_vocoder(vocoder_dir, self.device)
        self.n_iter = n_iter

    @property
    def fs(self) -> int:
        return self.model.fs

    @property
    def unit_hop(self) -> int:
        return self.model.unit_hop

    @property
    def predicts_durations(self) -> bool:
        return self.model.durations is not None

    def check_units(self, units: Sequence[int]) -> None:
        """Raise ValueError for what the network cannot take (empty, out of range)."""
        if len(units) == 0:
            raise ValueError("empty unit sequence; there is nothing to synthesise")
        lo, hi = min(units), max(units)
        if lo < 0 or hi >= self.model.n_units:
            bad = lo if lo < 0 else hi
            raise ValueError(f"unit {bad} is outside [0, {self.model.n_units}) of this vocoder; the units "
                             "and the vocoder must come from the same k-means model")

    def __call__(self, units: Sequence[int]) -> np.ndarray:
        return self.synthesize([units])[0]

    @torch.no_grad()
    def synthesize(self, unit_lists: Sequence[Sequence[int]]) -> List[np.ndarray]:
        """One batched network forward, then (mel_gl) Griffin-Lim per utterance; each waveform has
        ``frames * unit_hop`` samples (frames = units, or the sum of the predicted durations)."""
        unit_lists = [list(map(int, u)) for u in unit_lists]
        for k, u in enumerate(unit_lists):
            try:
                self.check_units(u)
            except ValueError as e:
                raise ValueError(f"utterance {k} of the batch: {e}") from None
        if not unit_lists:
            return []
        units, lengths = pad_units(unit_lists)
        out, out_lengths = self.model(units.to(self.device), lengths.to(self.device))
        out, out_lengths = out.float().cpu(), out_lengths.cpu().tolist()
        if not isinstance(self.model, UnitMelVocoder):  # a waveform already
            return [out[k, :n].clamp(-1.0, 1.0).numpy().astype(np.float32) for k, n in enumerate(out_lengths)]
        upsample = self.model.upsample
        return [mel_to_waveform(out[k, :n], self.model.mel_cfg, self.n_iter, length=n // upsample * self.unit_hop)
                for k, n in enumerate(out_lengths)]


def read_units(path) -> Dict[str, List[int]]:
    """``{utt: [units]}`` from a Kaldi text file ``utt u1 u2 ...`` (file order); an utterance
    with no units maps to ``[]``. Non-integer tokens raise, naming the file and line."""
    from espnet_csst.data.datadir import read_map

    path = Path(path)
    out: Dict[str, List[int]] = {}
    for utt, value in read_map(path).items():  # read_map rejects duplicate ids, naming the line
        try:
            out[utt] = [int(t) for t in value.split()]
        except ValueError:
            raise ValueError(f"{path}: utterance {utt} has a non-integer unit; a units file holds "
                             "'utt u1 u2 ...' with integer cluster ids") from None
    return out

