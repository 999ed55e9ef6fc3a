"""Unit HiFi-GAN (ESPnet's generator + discriminators): shapes, training, save/load, synthesis."""

import numpy as np
import pytest
import torch

from espnet_csst.units.hifigan import UnitHiFiGAN, UnitHiFiGANTrainer
from espnet_csst.units.vocoder import UnitVocoder, load_vocoder, pad_units, save_vocoder

HOP = 160  # 10 ms units keep the tiny tests fast
TINY = dict(embed_dim=16, channels=32, kernel_size=5, upsample_scales=[4, 4, 10],
            resblock_kernel_sizes=[3], resblock_dilations=[[1, 3]], duration_channels=16, dropout=0.0)
TINY_DISC = dict(scales=1, periods=[2, 3],
                 scale_discriminator_params=dict(channels=8, max_downsample_channels=16, max_groups=4,
                                                 downsample_scales=[2, 2, 1]),
                 period_discriminator_params=dict(channels=4, max_downsample_channels=8, downsample_scales=[3, 1]))


def tiny(n_units=8, **kw) -> UnitHiFiGAN:
    torch.manual_seed(0)
    return UnitHiFiGAN(n_units, HOP, **{**TINY, **kw})


def tone(n: int, f: float = 300.0) -> torch.Tensor:
    return 0.5 * torch.sin(2 * torch.pi * f * torch.arange(n) / 16000)


def test_output_is_unit_hop_samples_per_unit_and_batch_matches_single():
    model = tiny().eval()
    units, lengths = pad_units([[1, 2, 3, 4, 5], [7, 0]])
    wav, wav_lengths = model(units, lengths)
    assert wav.shape == (2, 5 * HOP) and wav_lengths.tolist() == [5 * HOP, 2 * HOP]
    assert torch.all(wav[1, 2 * HOP:] == 0)  # past its length: zeroed
    single, _ = model(torch.tensor([[1, 2, 3, 4, 5]]), torch.tensor([5]))
    assert torch.allclose(wav[0], single[0], atol=1e-5)  # the longest utterance has no padding


def test_upsampling_must_equal_the_unit_hop():
    with pytest.raises(ValueError, match="product of upsample_scales"):
        UnitHiFiGAN(8, 640, **{**TINY, "upsample_scales": [4, 4, 10]})


def test_too_few_channels_for_the_upsampling_is_named():
    with pytest.raises(ValueError, match="channels=4 is too few for 3 upsampling layers"):
        UnitHiFiGAN(8, HOP, **{**TINY, "channels": 4})


def test_durations_expand_deduplicated_units():
    model = tiny(duration_predictor=True).eval()
    units, lengths = pad_units([[1, 2], [3]])
    wav, wav_lengths = model(units, lengths, torch.tensor([[3, 1], [2, 0]]))
    assert wav_lengths.tolist() == [4 * HOP, 2 * HOP] and wav.shape == (2, 4 * HOP)
    _, predicted = model(units, lengths)
    assert all(n >= k * HOP for n, k in zip(predicted.tolist(), [2, 1]))  # every unit at least one frame


def test_training_lowers_the_mel_loss_and_the_discriminator_joins_later():
    model = tiny(n_units=4)
    trainer = UnitHiFiGANTrainer(model, TINY_DISC, lr=2e-3, adversarial_start=3)
    units, lengths = pad_units([[0, 1, 2, 3, 0, 1, 2, 3]])
    wav = tone(8 * HOP)[None]
    wav_lengths = torch.tensor([8 * HOP])
    disc_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    stats = [trainer.step(units, lengths, wav, wav_lengths) for _ in range(3)]
    assert all("adv" not in s for s in stats)  # mel loss only before adversarial_start
    assert all(torch.equal(a, b) for a, b in zip(disc_before, trainer.discriminator.parameters()))
    stats += [trainer.step(units, lengths, wav, wav_lengths) for _ in range(37)]
    assert {"adv", "fm", "disc_real", "disc_fake"} <= set(stats[-1])
    assert not all(torch.equal(a, b) for a, b in zip(disc_before, trainer.discriminator.parameters()))
    first, last = np.mean([s["mel_l1"] for s in stats[:3]]), np.mean([s["mel_l1"] for s in stats[-3:]])
    assert last < 0.7 * first
    valid = trainer.valid_mel_l1([(units, lengths, torch.ones_like(units), wav, wav_lengths)])
    assert np.isfinite(valid) and model.training  # valid runs in eval mode and switches back


def test_trainer_needs_true_durations_with_a_duration_model():
    trainer = UnitHiFiGANTrainer(tiny(duration_predictor=True), TINY_DISC)
    units, lengths = pad_units([[1, 2]])
    with pytest.raises(ValueError, match="true durations"):
        trainer.step(units, lengths, tone(2 * HOP)[None], torch.tensor([2 * HOP]))


def test_save_load_and_synthesize(tmp_path):
    model = tiny(duration_predictor=True).eval()
    save_vocoder(tmp_path / "voc", model)
    loaded, config = load_vocoder(tmp_path / "voc")
    assert config["vocoder_type"] == "hifigan" and isinstance(loaded, UnitHiFiGAN)
    units, lengths = pad_units([[1, 5, 2]])
    assert torch.equal(model(units, lengths)[0], loaded(units, lengths)[0])
    vocoder = UnitVocoder(tmp_path / "voc", device="cpu")
    assert vocoder.predicts_durations and vocoder.fs == 16000
    wavs = vocoder.synthesize([[1, 5, 2], [3]])
    assert all(w.dtype == np.float32 and len(w) % HOP == 0 and len(w) >= n * HOP and np.abs(w).max() <= 1
               for w, n in zip(wavs, [3, 1]))
    with pytest.raises(ValueError, match="outside"):
        vocoder([8])
