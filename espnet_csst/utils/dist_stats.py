"""The same statistics keys on every data-parallel rank, so that ESPnet's reporter does not hang.

ESPnet averages a batch's statistics over the ranks key by key
(``recursive_average``: one ``all_gather`` per tensor, nothing for ``None``).
The ranks must therefore report the same keys, in the same order, all as
tensors. The models report some keys only when the batch has what they
measure: the routing accuracy and the expert loads of a language only when
that language is in the batch, no accuracy for a batch of utterances that were
all too long. On one GPU that is fine: the reporter averages each key over the
batches that have it. Under DDP, ranks with different keys wait for each other
forever.

:func:`uniform_stats` makes the ranks agree. It gathers every rank's key names
(one small collective per step), adds the missing keys as NaN, and turns
``None`` into NaN. ESPnet's reporter leaves NaN out of its averages, and
``recursive_sum`` compensates for the ranks that had none, so every value
means what it means on one GPU. Outside ``torch.distributed`` the stats pass
through unchanged.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch


def uniform_stats(stats: Dict[str, Optional[torch.Tensor]], device: torch.device) -> Dict[str, torch.Tensor]:
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()
            and torch.distributed.get_world_size() > 1):
        return stats
    names = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(names, sorted(stats))
    nan = torch.tensor(float("nan"), device=device)
    out = {}
    for key in sorted(set().union(*names)):  # one order on every rank
        value = stats.get(key)
        if value is None:
            out[key] = nan
        else:
            out[key] = torch.as_tensor(value, device=device, dtype=torch.float32).detach()
    return out
