"""Transition schedule lambda(t) and the KL term."""

import math

import pytest
import torch

from espnet_csst.losses.transition import TransitionSchedule, kl_to_teacher


@pytest.mark.parametrize("shape", ["linear", "cosine"])
def test_schedule_decays_from_lambda0_to_lambda_min_and_stays(shape):
    s = TransitionSchedule(lambda0=1.0, lambda_min=0.1, steps=100, schedule=shape)
    values = [s.weight(t) for t in range(0, 130)]
    assert values[0] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert values[100:] == [pytest.approx(0.1)] * 30
    mid = 0.1 + 0.9 * (0.5 if shape == "linear" else 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert s.weight(50) == pytest.approx(mid)


def test_cosine_starts_slower_than_linear():
    lin, cos = TransitionSchedule(schedule="linear"), TransitionSchedule(schedule="cosine")
    assert cos.weight(100) > lin.weight(100) and cos.weight(900) < lin.weight(900)


@pytest.mark.parametrize("bad", [dict(schedule="step"), dict(steps=-1), dict(lambda0=-1.0)])
def test_bad_schedule_is_named(bad):
    with pytest.raises(ValueError, match="model_conf.transition"):
        TransitionSchedule(**bad)


def test_kl_is_zero_for_the_same_model_and_masks_positions():
    logits = torch.randn(2, 5, 7)
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], dtype=torch.bool)
    assert float(kl_to_teacher(logits, logits, mask)) == pytest.approx(0.0, abs=1e-6)
    other = logits.clone()
    other[~mask] = torch.randn(int((~mask).sum()), 7)  # only unmasked positions count
    assert float(kl_to_teacher(logits, other, mask)) == pytest.approx(0.0, abs=1e-6)
    assert float(kl_to_teacher(logits, torch.randn(2, 5, 7), mask)) > 0
