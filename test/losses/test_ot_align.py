"""Entropic OT alignment loss (AI-STA, DESIGN.md 3.3) against POT's reference solver."""

import ot
import pytest
import torch

from espnet_csst.losses.ot_align import (cost_matrix, gather_positions, ot_alignment_cost,
                                         uniform_marginals)


def padded_batch(seed=0, lengths_s=(7, 3, 5, 1), lengths_t=(4, 6, 2, 3), dim=16):
    g = torch.Generator().manual_seed(seed)
    b = len(lengths_s)
    s = torch.randn(b, max(lengths_s), dim, generator=g)
    t = torch.randn(b, max(lengths_t), dim, generator=g)
    return s, torch.tensor(lengths_s), t, torch.tensor(lengths_t)


@pytest.mark.parametrize("seed,position_weight", [(0, 0.0), (1, 0.0), (2, 0.5)])
def test_cost_equals_pot_sinkhorn2_per_utterance(seed, position_weight):
    s, sl, t, tl = padded_batch(seed)
    got = ot_alignment_cost(s, sl, t, tl, eps=0.1, position_weight=position_weight)
    cost = cost_matrix(s, sl, t, tl, position_weight)
    for i in range(s.size(0)):
        n, m = int(sl[i]), int(tl[i])
        a, b = torch.full((n,), 1.0 / n, dtype=torch.float64), torch.full((m,), 1.0 / m, dtype=torch.float64)
        want = ot.sinkhorn2(a, b, cost[i, :n, :m].double(), 0.1, method="sinkhorn_log",
                            stopThr=1e-12, numItermax=10000)
        assert float(got[i]) == pytest.approx(float(want), abs=1e-4)


def test_marginals_are_uniform_over_the_unpadded_positions():
    m = uniform_marginals(torch.tensor([2, 4]), 4)
    assert torch.allclose(m, torch.tensor([[0.5, 0.5, 0, 0], [0.25] * 4]))


def test_identical_point_clouds_cost_almost_nothing_and_different_ones_more():
    s, sl, _, _ = padded_batch(3, dim=64)
    same = ot_alignment_cost(s, sl, s.clone(), sl.clone())
    other = ot_alignment_cost(s, sl, torch.randn_like(s), sl.clone())
    assert same.max() < 1e-3
    assert (other > 0.5).all()


def test_padded_positions_change_nothing():
    s, sl, t, tl = padded_batch(4)
    base = ot_alignment_cost(s, sl, t, tl)
    s2, t2 = s.clone(), t.clone()
    for i in range(s.size(0)):
        s2[i, sl[i]:] = 1e3 * torch.randn_like(s2[i, sl[i]:])
        t2[i, tl[i]:] = -7.0
    wide_s = torch.cat([s2, torch.randn(s.size(0), 5, s.size(2))], dim=1)  # more padding still
    assert torch.allclose(ot_alignment_cost(wide_s, sl, t2, tl), base, atol=1e-6)


def test_gradient_reaches_the_speech_side_and_not_a_detached_text_side():
    s, sl, t, tl = padded_batch(5)
    s.requires_grad_(True)
    text = t.detach()
    ot_alignment_cost(s, sl, text, tl).sum().backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert text.grad is None
    # and the padded speech rows get no gradient
    for i in range(s.size(0)):
        assert s.grad[i, sl[i]:].abs().sum() == 0


def test_a_gradient_step_on_speech_lowers_the_cost():
    s, sl, t, tl = padded_batch(6)
    s.requires_grad_(True)
    before = ot_alignment_cost(s, sl, t, tl).sum()
    before.backward()
    with torch.no_grad():
        after = ot_alignment_cost(s - 2.0 * s.grad, sl, t, tl).sum()
    assert after < before


def test_empty_utterances_cost_zero_without_nan():
    s, _, t, _ = padded_batch(7)
    got = ot_alignment_cost(s, torch.tensor([0, 3, 5, 1]), t, torch.tensor([4, 0, 2, 3]))
    assert torch.isfinite(got).all() and got[0] == 0 and got[1] == 0 and got[2] > 0


def test_gather_positions_left_aligns_the_masked_rows():
    h = torch.arange(2 * 5 * 1, dtype=torch.float32).view(2, 5, 1)
    mask = torch.tensor([[0, 1, 1, 0, 1], [0, 0, 1, 0, 0]], dtype=torch.bool)
    out, n = gather_positions(h, mask)
    assert n.tolist() == [3, 1]
    assert out[..., 0].tolist() == [[1, 2, 4], [7, 0, 0]]


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="expected speech"):
        ot_alignment_cost(torch.zeros(2, 3), torch.tensor([1, 1]), torch.zeros(2, 3, 4), torch.tensor([1, 1]))
