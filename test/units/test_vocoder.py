"""Unit vocoder: shapes, overfitting one batch, save/load, Griffin-Lim inversion."""

import numpy as np
import pytest
import torch

from espnet_csst.units.mel import MelConfig, log_mel
from espnet_csst.units.vocoder import (
    UnitMelVocoder,
    UnitVocoder,
    load_vocoder,
    mel_to_waveform,
    pad_units,
    read_units,
    save_vocoder,
)

TINY = dict(embed_dim=16, channels=32, kernel_size=3, num_layers=2, mel_layers=1, dropout=0.0)


def tiny_model(n_units=10, **kw) -> UnitMelVocoder:
    torch.manual_seed(0)
    return UnitMelVocoder(n_units, 640, **{**TINY, **kw})


def sweep(n: int, fs: int = 16000, f0: float = 200.0, f1: float = 900.0) -> np.ndarray:
    t = np.arange(n) / fs
    return (0.5 * np.sin(2 * np.pi * (f0 + (f1 - f0) * t / t[-1] / 2) * t)).astype(np.float32)


def test_forward_gives_upsample_frames_per_unit():
    model = tiny_model()
    assert model.upsample == 4
    units, lengths = pad_units([[1, 2, 3, 4, 5], [7, 8]])
    out, out_lengths = model(units, lengths)
    assert out.shape == (2, 5 * 4, 80)
    assert out_lengths.tolist() == [20, 8]


def test_batched_forward_equals_single_forward():
    model = tiny_model().eval()
    units, lengths = pad_units([[1, 2, 3, 4, 5], [7, 8]])
    batched = model(units, lengths)[0][1, :8]
    single = model(torch.tensor([[7, 8]]), torch.tensor([2]))[0][0]
    assert torch.allclose(batched, single, atol=1e-5)


def test_unit_hop_must_be_multiple_of_mel_hop():
    with pytest.raises(ValueError, match="multiple of the mel hop_length"):
        UnitMelVocoder(10, 600)


def test_log_mel_frames_and_floor():
    cfg = MelConfig()
    lm = log_mel(torch.zeros(1600), cfg)
    assert lm.shape == (1600 // 160 + 1, 80)
    assert torch.allclose(lm, torch.full_like(lm, float(np.log(1e-5))))
    assert log_mel(torch.zeros(2, 1600), cfg).shape == (2, 11, 80)


def test_loss_decreases_when_overfitting_one_batch():
    model = tiny_model()
    wav = torch.from_numpy(sweep(640 * 8))
    target = log_mel(wav)[None]  # 33 frames: one more than the 32 predicted, truncated by the loss
    units = torch.tensor([[1, 1, 2, 3, 3, 4, 5, 6]])
    lengths, mel_lengths = torch.tensor([8]), torch.tensor([target.shape[1]])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss, _ = model.loss(units, lengths, target, mel_lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_loss_ignores_padding():
    model = tiny_model().eval()
    units, lengths = pad_units([[1, 2], [3, 4, 5]])
    target = torch.zeros(2, 12, 80)
    target[0, 8:] = 1e6  # beyond utterance 0's 8 frames: must not count
    loss, _ = model.loss(units, lengths, target, torch.tensor([12, 12]))
    assert loss.item() < 100


def test_save_load_roundtrip_gives_identical_outputs(tmp_path):
    model = tiny_model(n_units=12).eval()
    save_vocoder(tmp_path / "voc", model, {"note": "test"})
    loaded, config = load_vocoder(tmp_path / "voc")
    assert config["note"] == "test" and config["vocoder"]["n_units"] == 12
    units, lengths = pad_units([[0, 11, 5, 5, 2]])
    assert torch.equal(model(units, lengths)[0], loaded(units, lengths)[0])
    assert config["vocoder_type"] == "mel_gl"
    assert not list((tmp_path / "voc").glob("*.tmp"))


def test_load_vocoder_names_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing")):
        load_vocoder(tmp_path / "nothing")


def test_mel_to_waveform_is_finite_float32_of_frames_times_hop():
    lm = log_mel(torch.from_numpy(sweep(8000)))
    wav = mel_to_waveform(lm, MelConfig(), n_iter=8)
    assert wav.dtype == np.float32
    assert wav.shape == (lm.shape[0] * 160,)
    assert np.isfinite(wav).all()
    assert abs(np.abs(wav).max() - 0.95) < 1e-4
    assert np.array_equal(wav, mel_to_waveform(lm, MelConfig(), n_iter=8))  # deterministic
    assert mel_to_waveform(lm, MelConfig(), n_iter=8, length=7777).shape == (7777,)


def test_griffin_lim_keeps_the_spectrum():
    """The inverted audio's log-mel (up to the peak normalisation's offset) is close to the input's."""
    wav = sweep(8000)
    lm = log_mel(torch.from_numpy(wav))
    back = mel_to_waveform(lm, MelConfig(), n_iter=32, length=len(wav))
    lm2 = log_mel(torch.from_numpy(back / 0.95 * np.abs(wav).max()))
    loud = lm > lm.max() - 5  # the sweep's bins; near-silent bins are dominated by GL noise
    assert (lm2 - lm)[loud].abs().mean() < 0.5


def test_unit_vocoder_trims_to_units_and_rejects_bad_units(tmp_path):
    save_vocoder(tmp_path, tiny_model(n_units=10).eval())
    vocoder = UnitVocoder(tmp_path, n_iter=4, device="cpu")
    wavs = vocoder.synthesize([[1, 2, 3], [4, 5, 6, 7, 8]])
    assert [len(w) for w in wavs] == [3 * 640, 5 * 640]
    assert np.allclose(vocoder([1, 2, 3]), wavs[0], atol=2e-3)  # batched = alone, up to float noise
    with pytest.raises(ValueError, match="outside"):
        vocoder([1, 10])
    with pytest.raises(ValueError, match="empty"):
        vocoder([])


def test_read_units_keeps_order_and_empty_lines(tmp_path):
    path = tmp_path / "units"
    path.write_text("b 1 2 3\na\nc 4\n")
    assert read_units(path) == {"b": [1, 2, 3], "a": [], "c": [4]}
    path.write_text("b 1 x\n")
    with pytest.raises(ValueError, match="utterance b"):
        read_units(path)


def test_load_mono_names_empty_and_non_finite_audio(tmp_path):
    import soundfile

    from espnet_csst.units.audio import load_mono

    soundfile.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match=r"empty\.wav: the audio is empty"):
        load_mono(str(tmp_path / "empty.wav"))
    soundfile.write(tmp_path / "nan.wav", np.array([0.1, np.nan, 0.2], dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(ValueError, match="NaN or infinite"):
        load_mono(str(tmp_path / "nan.wav"))
