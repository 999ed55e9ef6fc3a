"""Two guards that keep CPU bf16 training finite (issue 19, item 4).

1. **oneDNN's bf16 strided conv2d with a one-wide output.** On CPUs with AMX
   (torch 2.12.1, oneDNN 3.11.2), a bf16 ``conv2d`` whose stride is above 1 and
   whose output is one element wide (or high) leaves most of its output
   unwritten: the values are whatever the allocator's memory held, NaN or 1e37
   as often as not (``test/utils/test_cpu_bf16_guards.py`` measures it; on
   CPUs without AMX the same call is correct). ESPnet's ``conv2d8``
   subsampling meets it with 20 mel bins (20 -> 9 -> 4 -> 1): the micro models
   of the tests and the tutorial had NaN ``loss_ctc``/``loss_lang`` in about
   half of their batches. :func:`guard_one_wide_conv2d` runs exactly those
   calls in fp32; every other convolution keeps bf16.

2. **A skipped batch must leave the model as it was.** ESPnet's trainer skips
   the optimizer step of a batch whose loss is non-finite, but the forward pass
   has already folded that batch into every BatchNorm's running statistics. One
   NaN batch makes them NaN for good, and from then on every evaluation is NaN
   (the "validation batch NaN in fp32" of the issue: the conformer's
   convolution module normalises with those statistics).
   :class:`RunningStatsGuard` restores them when the loss is not finite.
"""
from typing import List, Tuple

import torch


def _out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class OneWideSafeConv2d(torch.nn.Conv2d):
    """``nn.Conv2d`` that computes in fp32 where CPU bf16 autocast would give garbage."""

    def _one_wide_strided(self, x: torch.Tensor) -> bool:
        if not isinstance(self.padding, tuple) or max(self.stride) == 1:
            return False  # padding "same"/"valid" strings: stride 1 only
        outs = [_out_size(x.shape[-2 + i], self.kernel_size[i], self.stride[i], self.padding[i], self.dilation[i])
                for i in range(2)]
        return min(outs) == 1

    def _conv_forward(self, input, weight, bias):
        if input.device.type == "cpu" and torch.is_autocast_enabled("cpu") and self._one_wide_strided(input):
            with torch.autocast(device_type="cpu", enabled=False):
                return super()._conv_forward(input.float(), weight.float(), None if bias is None else bias.float())
        return super()._conv_forward(input, weight, bias)


def guard_one_wide_conv2d(model: torch.nn.Module) -> int:
    """Make every ``nn.Conv2d`` of ``model`` a :class:`OneWideSafeConv2d`; returns how many.

    The class is swapped in place: parameters, state-dict keys and hooks stay.
    """
    n = 0
    for m in model.modules():
        if type(m) is torch.nn.Conv2d:
            m.__class__ = OneWideSafeConv2d
            n += 1
    return n


class RunningStatsGuard:
    """Snapshot of the BatchNorm running statistics of a model, to undo a bad batch.

    >>> guard = RunningStatsGuard(model)      # before the forward pass
    >>> ... loss = ...
    >>> if not torch.isfinite(loss): guard.restore()
    """

    def __init__(self, model: torch.nn.Module):
        self._saved: List[Tuple[torch.Tensor, torch.Tensor]] = []
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._NormBase) and m.track_running_stats and m.training:
                for buf in (m.running_mean, m.running_var, m.num_batches_tracked):
                    if buf is not None:
                        self._saved.append((buf, buf.detach().clone()))

    def restore(self) -> int:
        """Puts the statistics back; returns how many buffers were restored."""
        with torch.no_grad():
            for buf, old in self._saved:
                buf.copy_(old)
        return len(self._saved)
