"""The CPU bf16 guards of issue 19 item 4: one-wide strided conv2d in fp32, BatchNorm undo."""

import pytest
import torch

from espnet_csst.utils.cpu_bf16_guards import OneWideSafeConv2d, RunningStatsGuard, guard_one_wide_conv2d


def _dirty_allocator(shape):
    # what oneDNN's bf16 kernel leaves unwritten shows as whatever the allocator held
    junk = torch.full(shape, float("nan"), dtype=torch.bfloat16)
    del junk


@pytest.mark.parametrize("width, one_wide", [(4, True), (3, True), (9, False)])
def test_strided_conv2d_with_a_one_wide_output_is_right_under_cpu_autocast(width, one_wide):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(16, 16, 3, stride=2)
    x = torch.randn(8, 16, 103, width)
    ref = conv(x)
    assert guard_one_wide_conv2d(torch.nn.Sequential(conv)) == 1 and isinstance(conv, OneWideSafeConv2d)
    _dirty_allocator(ref.shape)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = conv(x)
    assert torch.isfinite(y).all()
    # one wide: fp32, exactly the reference; wider: bf16 as before (the guard costs nothing there)
    assert y.dtype == (torch.float32 if one_wide else torch.bfloat16)
    torch.testing.assert_close(y.float(), ref, atol=0.05, rtol=0.05)
    if one_wide:
        torch.testing.assert_close(y, ref)


def test_guard_keeps_parameters_keys_and_fp32_behaviour():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, 2), torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 3, 1))
    keys = list(model.state_dict())
    x = torch.randn(2, 1, 20, 9)
    ref = model(x)
    assert guard_one_wide_conv2d(model) == 2
    assert list(model.state_dict()) == keys
    torch.testing.assert_close(model(x), ref)  # without autocast nothing changes


def test_running_stats_guard_puts_batchnorm_statistics_back():
    bn = torch.nn.Sequential(torch.nn.BatchNorm1d(4)).train()
    bn(torch.randn(8, 4))
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    guard = RunningStatsGuard(bn)
    bn(torch.full((8, 4), float("nan")))
    assert torch.isnan(bn[0].running_mean).all()
    assert guard.restore() == 3
    for k, v in bn.state_dict().items():
        torch.testing.assert_close(v, before[k])
    # in eval mode there is nothing to guard
    assert RunningStatsGuard(bn.eval()).restore() == 0
