"""Unit HiFi-GAN: discrete units -> waveform with ESPnet's HiFi-GAN, for real data (DESIGN.md 3.4).

The cheap ``mel_gl`` vocoder of ``units/vocoder.py`` (log-mel + Griffin-Lim)
is what 2 CPU cores can train in minutes; for real corpora (CVSS) the
recipe's ``--vocoder_type hifigan`` trains this one, the unit HiFi-GAN of
direct S2ST with discrete units:

1. :class:`UnitHiFiGAN` embeds the units (one vector per unit, at the unit
   rate), optionally expands deduplicated units by their durations (given in
   training, predicted at synthesis), and runs ``espnet2.gan_tts``'s
   :class:`HiFiGANGenerator`, whose transposed convolutions upsample by
   ``prod(upsample_scales) == unit_hop`` straight to 16 kHz samples.
2. :class:`UnitHiFiGANTrainer` holds what only training needs: ESPnet's
   multi-scale + multi-period discriminator and its adversarial,
   feature-matching losses, plus the log-mel L1 of the HiFi-GAN paper
   (weights 1 / 2 / 45) and the duration loss, with one AdamW per network.

Only the generator is saved (``save_vocoder``); it is loaded with
``weights_only=True`` like every model here. The trainer's checkpoint also
holds what :meth:`UnitHiFiGANTrainer.training_state` returns (discriminator,
optimisers, step counter), so an interrupted run resumes.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from espnet2.gan_tts.hifigan import HiFiGANGenerator, HiFiGANMultiScaleMultiPeriodDiscriminator
from espnet2.gan_tts.hifigan.loss import DiscriminatorAdversarialLoss, FeatureMatchLoss, GeneratorAdversarialLoss

from espnet_csst.units.durations import UnitDurationModel, expand_units, length_mask
from espnet_csst.units.mel import MelConfig, log_mel, masked_l1


class UnitHiFiGAN(nn.Module):
    """Units ``(B, T)`` -> waveform ``(B, frames * unit_hop)`` and its lengths in samples."""

    def __init__(self, n_units: int, unit_hop: int = 640, fs: int = 16000, embed_dim: int = 128,
                 channels: int = 512, kernel_size: int = 7, upsample_scales: Sequence[int] = (8, 5, 4, 4),
                 resblock_kernel_sizes: Sequence[int] = (3, 7, 11),
                 resblock_dilations: Sequence[Sequence[int]] = ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
                 duration_predictor: bool = False, duration_channels: int = 256, dropout: float = 0.1):
        super().__init__()
        if n_units < 1:
            raise ValueError(f"n_units must be at least 1, got {n_units}")
        upsample_scales = [int(s) for s in upsample_scales]
        if math.prod(upsample_scales) != unit_hop:
            raise ValueError(f"the product of upsample_scales {upsample_scales} is {math.prod(upsample_scales)}, "
                             f"but one unit is unit_hop={unit_hop} samples; make them equal")
        # ESPnet's generator requires kernel = 2 x stride for every upsampling layer
        upsample_kernel_sizes = [2 * s for s in upsample_scales]
        if channels >> len(upsample_scales) < 1:  # each upsampling layer halves the channels
            raise ValueError(f"channels={channels} is too few for {len(upsample_scales)} upsampling layers "
                             f"(each halves them); use at least {2 ** len(upsample_scales)}")
        self.n_units, self.unit_hop, self._fs = n_units, unit_hop, fs
        self.hparams = dict(n_units=n_units, unit_hop=unit_hop, fs=fs, embed_dim=embed_dim, channels=channels,
                            kernel_size=kernel_size, upsample_scales=upsample_scales,
                            resblock_kernel_sizes=[int(k) for k in resblock_kernel_sizes],
                            resblock_dilations=[[int(d) for d in ds] for ds in resblock_dilations],
                            duration_predictor=duration_predictor, duration_channels=duration_channels,
                            dropout=dropout)
        self.embed = nn.Embedding(n_units, embed_dim)
        self.durations = (UnitDurationModel(embed_dim, channels=duration_channels, dropout=dropout)
                          if duration_predictor else None)
        self.generator = HiFiGANGenerator(
            in_channels=embed_dim, out_channels=1, channels=channels, kernel_size=kernel_size,
            upsample_scales=upsample_scales, upsample_kernel_sizes=upsample_kernel_sizes,
            resblock_kernel_sizes=list(resblock_kernel_sizes),
            resblock_dilations=[list(d) for d in resblock_dilations],
        )

    @property
    def fs(self) -> int:
        return self._fs

    def encode(self, units: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if units.dim() != 2:
            raise ValueError(f"units must be (B, T), got shape {tuple(units.shape)}")
        mask = length_mask(lengths, units.shape[1])[..., None].float()
        return self.embed(units.clamp(min=0) * mask[..., 0].long()) * mask

    def expand(self, x: torch.Tensor, lengths: torch.Tensor,
               durations: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        return expand_units(self.durations, x, lengths, durations)

    def decode(self, x: torch.Tensor, frame_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Unit-frame vectors ``(B, F, C)`` -> ``(waveform (B, F * unit_hop), lengths in samples)``.

        Padding frames are zero vectors, but the generator's convolutions
        still spread them into the last real samples' neighbourhood, so a
        batched synthesis matches a single one only away from the padding
        (the samples past each length are zeroed).
        """
        wav = self.generator(x.transpose(1, 2)).squeeze(1)
        wav_lengths = frame_lengths * self.unit_hop
        return wav * length_mask(wav_lengths, wav.shape[1]).float(), wav_lengths

    def forward(self, units: torch.Tensor, lengths: torch.Tensor,
                durations: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.to(units.device)
        x, frame_lengths = self.expand(self.encode(units, lengths), lengths, durations)
        return self.decode(x, frame_lengths)


class UnitHiFiGANTrainer(nn.Module):
    """Discriminator, losses and optimisers around a :class:`UnitHiFiGAN`; one :meth:`step` per batch."""

    def __init__(self, generator: UnitHiFiGAN, discriminator: Optional[dict] = None, lr: float = 2e-4,
                 betas: Tuple[float, float] = (0.8, 0.99), lambda_mel: float = 45.0, lambda_fm: float = 2.0,
                 lambda_adv: float = 1.0, adversarial_start: int = 0, mel: Optional[MelConfig] = None):
        super().__init__()
        self.generator = generator
        self.discriminator = HiFiGANMultiScaleMultiPeriodDiscriminator(**(discriminator or {}))
        self.adv_loss, self.disc_loss, self.fm_loss = (GeneratorAdversarialLoss(), DiscriminatorAdversarialLoss(),
                                                       FeatureMatchLoss())
        self.lambda_mel, self.lambda_fm, self.lambda_adv = lambda_mel, lambda_fm, lambda_adv
        # Mel-only steps first: the discriminator then starts against speech-like output instead of
        # noise, which on short CPU runs is the difference between learning and not (as in ESPnet's
        # GAN vocoder configs' discriminator_train_start_steps).
        self.adversarial_start = adversarial_start
        self.mel_cfg = mel or MelConfig(fs=generator.fs)
        self.opt_g = torch.optim.AdamW(generator.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.AdamW(self.discriminator.parameters(), lr=lr, betas=betas)
        self.steps = 0

    def mel_l1(self, wav_hat: torch.Tensor, wav: torch.Tensor, wav_lengths: torch.Tensor) -> torch.Tensor:
        n = min(wav_hat.shape[1], wav.shape[1])
        frames = wav_lengths.to(wav.device) // self.mel_cfg.hop_length + 1
        return masked_l1(log_mel(wav_hat[:, :n], self.mel_cfg), frames, log_mel(wav[:, :n], self.mel_cfg), frames)

    def step(self, units: torch.Tensor, lengths: torch.Tensor, wav: torch.Tensor, wav_lengths: torch.Tensor,
             durations: Optional[torch.Tensor] = None) -> Dict[str, float]:
        """One generator update (and, past ``adversarial_start``, one discriminator update)."""
        gen = self.generator
        if gen.durations is not None and durations is None:
            raise ValueError("this vocoder has a duration model: training needs the true durations")
        lengths = lengths.to(units.device)
        x = gen.encode(units, lengths)
        stats: Dict[str, float] = {}
        loss = x.new_zeros(())
        if gen.durations is not None:
            dur = gen.durations.loss(x, lengths, durations)
            loss = loss + dur
            stats["dur"] = dur.item()
        wav_hat, _ = gen.decode(*gen.expand(x, lengths, durations))
        n = min(wav_hat.shape[1], wav.shape[1])
        wav_hat, wav = wav_hat[:, :n], wav[:, :n]
        # zero the generated samples past each target's end, so both sides pad alike for the discriminator
        wav_hat = wav_hat * length_mask(wav_lengths.to(wav.device), n).float()
        mel = self.mel_l1(wav_hat, wav, wav_lengths)
        loss = loss + self.lambda_mel * mel
        stats["mel_l1"] = mel.item()
        adversarial = self.steps >= self.adversarial_start
        if adversarial:
            fake = self.discriminator(wav_hat[:, None])
            # with its graph: the discriminator's update below reuses it (feature matching detaches it)
            real = self.discriminator(wav[:, None])
            adv, fm = self.adv_loss(fake), self.fm_loss(fake, real)
            loss = loss + self.lambda_adv * adv + self.lambda_fm * fm
            stats.update(adv=adv.item(), fm=fm.item())
        self.opt_g.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(gen.parameters(), 10.0)
        self.opt_g.step()

        if adversarial:
            real_loss, fake_loss = self.disc_loss(self.discriminator(wav_hat.detach()[:, None]), real)
            self.opt_d.zero_grad()
            (real_loss + fake_loss).backward()
            torch.nn.utils.clip_grad_norm_(self.discriminator.parameters(), 10.0)
            self.opt_d.step()
            stats.update(disc_real=real_loss.item(), disc_fake=fake_loss.item())
        self.steps += 1
        return stats

    @torch.no_grad()
    def valid_mel_l1(self, batches: List[Tuple[torch.Tensor, ...]]) -> float:
        """Frame-weighted log-mel L1 of whole utterances (true durations, eval mode)."""
        self.generator.eval()
        total, frames = 0.0, 0
        for units, lengths, durations, wav, wav_lengths in batches:
            wav_hat, _ = self.generator(units, lengths, durations if self.generator.durations is not None else None)
            n = int((wav_lengths // self.mel_cfg.hop_length + 1).sum())
            total += float(self.mel_l1(wav_hat, wav, wav_lengths)) * n
            frames += n
        self.generator.train()
        return total / max(frames, 1)

    def training_state(self) -> dict:
        """What resuming an interrupted run needs beyond the generator's weights: the discriminator's
        weights, both optimisers' states and the step counter (tensors and plain data only, so it
        loads with ``weights_only=True``).

        Not ``self.state_dict()``: that would store the generator's weights a second time (the
        caller saves them as the model) and miss the optimisers and ``steps``.
        """
        return {"discriminator": self.discriminator.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), "steps": self.steps}

    def load_training_state(self, state: dict) -> None:
        """Restore :meth:`training_state` (the generator's weights are loaded separately)."""
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.steps = int(state["steps"])

    def set_lr_factor(self, factor: float, base_lr: float) -> None:
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = base_lr * factor
