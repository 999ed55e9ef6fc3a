"""Linear and conv1d projectors: shapes, lengths, and isolation from padding."""

import pytest
import torch

from espnet_csst.projectors.abs_projector import stack_frames
from espnet_csst.projectors.conv1d import Conv1dProjector
from espnet_csst.projectors.linear import LinearProjector

CLASSES = {"linear": LinearProjector, "conv1d": Conv1dProjector}


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("k,t", [(1, 7), (2, 7), (3, 7), (4, 9), (4, 8), (5, 3)])
def test_shapes_and_lengths(name, k, t):
    torch.manual_seed(0)
    proj = CLASSES[name](input_size=6, output_size=10, downsample=k, hidden_size=12).eval()
    x = torch.randn(3, t, 6)
    lens = torch.tensor([t, t - 1, 1])
    y, y_lens = proj(x, lens)
    assert proj.output_size() == 10
    assert y.shape == (3, -(-t // k), 10)
    assert y_lens.tolist() == [-(-n // k) for n in lens.tolist()]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_bad_downsample(name):
    with pytest.raises(ValueError, match="downsample"):
        CLASSES[name](input_size=4, output_size=4, downsample=0)


def test_stack_frames_layout():
    x = torch.arange(10, dtype=torch.float).reshape(1, 5, 2)
    y, n = stack_frames(x, torch.tensor([5]), 2)
    assert y.tolist() == [[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 0]]]
    assert n.tolist() == [3]


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("length", [4, 5, 6, 7])
def test_frames_beyond_length_do_not_matter(name, length):
    """An utterance's valid outputs are those it would get alone: padded frames
    (whatever the encoder left there) never leak into them."""
    torch.manual_seed(0)
    proj = CLASSES[name](input_size=6, output_size=8, downsample=3, hidden_size=12).eval()
    x = torch.randn(1, length, 6)
    alone, alone_lens = proj(x, torch.tensor([length]))
    for fill in (torch.randn(1, 9 - length, 6) * 100, torch.zeros(1, 9 - length, 6)):
        padded = torch.cat([x, fill], dim=1)
        y, y_lens = proj(padded, torch.tensor([length]))
        assert y_lens.tolist() == alone_lens.tolist()
        n = int(y_lens[0])
        torch.testing.assert_close(y[:, :n], alone[:, :n], rtol=0, atol=1e-6)
