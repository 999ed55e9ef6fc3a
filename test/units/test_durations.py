"""Duration model of deduplicated units, and the mel vocoder that uses it."""

import pytest
import torch

from espnet_csst.units.durations import UnitDurationModel, check_durations
from espnet_csst.units.vocoder import UnitMelVocoder, pad_units

TINY = dict(embed_dim=16, channels=32, kernel_size=3, num_layers=2, mel_layers=1, dropout=0.0,
            duration_channels=16)


def test_expand_repeats_each_unit_by_its_duration_and_pads():
    model = UnitDurationModel(2, channels=4, dropout=0.0)
    x = torch.tensor([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], [[4.0, 4.0], [5.0, 5.0], [0.0, 0.0]]])
    out = model.expand(x, torch.tensor([[2, 1, 3], [1, 2, 0]]))
    assert out.shape == (2, 6, 2)
    assert out[0, :, 0].tolist() == [1, 1, 2, 3, 3, 3]
    assert out[1, :, 0].tolist() == [4, 5, 5, 0, 0, 0]


def test_predicted_durations_are_positive_on_units_and_zero_on_padding():
    torch.manual_seed(0)
    model = UnitDurationModel(8, channels=8, dropout=0.0).eval()
    with torch.no_grad():  # push the predictor's output far negative: exp(.) - 1 rounds to 0
        model.predictor.linear.bias.fill_(-5.0)
    d = model.predict(torch.randn(2, 4, 8), torch.tensor([4, 2]))
    assert d.dtype == torch.long
    assert d[0].tolist() == [1, 1, 1, 1] and d[1].tolist() == [1, 1, 0, 0]


def test_duration_model_learns_a_unit_to_duration_mapping():
    """Unit k always lasts k + 1 frames: after training, the vocoder predicts exactly that."""
    torch.manual_seed(0)
    vocoder = UnitMelVocoder(5, 640, duration_predictor=True, **TINY)
    units, lengths = pad_units([[0, 3, 1, 4], [2, 0, 3]])
    durations = (units + 1) * (units.new_tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    opt = torch.optim.Adam(vocoder.parameters(), lr=1e-2)
    frames = int(durations.sum(1).max()) * vocoder.upsample
    target, target_lengths = torch.zeros(2, frames, 80), durations.sum(1) * vocoder.upsample
    first = None
    for _ in range(150):
        loss, stats = vocoder.loss(units, lengths, target, target_lengths, durations)
        first = first if first is not None else stats["dur"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert stats["dur"] < 0.05 * first
    vocoder.eval()
    _, mel_lengths = vocoder(units, lengths)  # no durations given: predicted
    assert mel_lengths.tolist() == (durations.sum(1) * vocoder.upsample).tolist()


def test_mel_vocoder_with_durations_uses_the_given_ones():
    vocoder = UnitMelVocoder(5, 640, duration_predictor=True, **TINY).eval()
    units, lengths = pad_units([[1, 2], [3]])
    mel, mel_lengths = vocoder(units, lengths, torch.tensor([[3, 2], [4, 0]]))
    assert mel.shape == (2, 5 * 4, 80) and mel_lengths.tolist() == [20, 16]
    with pytest.raises(ValueError, match="true durations"):
        vocoder.loss(units, lengths, mel, mel_lengths)


def test_check_durations_names_file_and_utterance(tmp_path):
    path = tmp_path / "durations"
    check_durations({"a": [1, 2]}, {"a": [3, 1]}, path)
    with pytest.raises(ValueError, match=r"durations.*utterance a has 1 durations for 2 units"):
        check_durations({"a": [1, 2]}, {"a": [3]}, path)
    with pytest.raises(ValueError, match="no durations for utterance b"):
        check_durations({"b": [1]}, {}, path)
    with pytest.raises(ValueError, match=">= 1"):
        check_durations({"a": [1, 2]}, {"a": [0, 1]}, path)
