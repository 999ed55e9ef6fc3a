"""Safe and atomic torch files for ESPnet's trainer: ``weights_only`` loading, temp-file-and-rename saving.

ESPnet 202511 loads model and checkpoint files with ``weights_only=False`` in
four places: resuming (``Trainer.resume``), ``--init_param``
(``load_pretrained_model``), ``build_model_from_file`` and n-best averaging.
Unpickling such a file can run arbitrary code, so a model downloaded from
somewhere could take over the machine. ESPnet also writes ``checkpoint.pth``
and ``<N>epoch.pth`` straight to their final names, so a process killed while
saving leaves a truncated checkpoint that the next ``--resume true`` trusts.

:func:`espnet_safe_io` fixes both for the code that runs inside it: it points
``torch.load`` at :func:`load` (always ``weights_only=True``, with the numpy
scalar and dtype classes and the ``timedelta`` that ESPnet's reporter states hold allowed) and
``torch.save`` at :func:`save` (a temporary file next to the target, renamed
over it only when complete). The tasks (``CSSTTask``, ``UnitLMTask``) run
ESPnet's training worker and ``build_model_from_file`` inside it. Wrapping
torch's two functions is the one place that reaches all of ESPnet's call
sites without copying ESPnet's trainer.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from espnet_csst.utils.fileio import atomic_open

_torch_load = torch.load
_torch_save = torch.save


def _data_only_globals() -> list:
    """Classes that hold data, not code, and that ESPnet's checkpoints contain: numpy scalars and
    dtypes (the reporter's statistics) and ``datetime.timedelta`` (its elapsed times)."""
    from numpy._core.multiarray import scalar

    dtype_classes = [type(np.dtype(t)) for t in ("float16", "float32", "float64", "int8", "int16", "int32",
                                                  "int64", "uint8", "bool")]
    return [scalar, np.dtype, *dtype_classes, datetime.timedelta]


SAFE_GLOBALS = _data_only_globals()


def load(f, map_location=None, *args, weights_only: bool = True, **kwargs):
    """``torch.load`` that never unpickles code, whatever the caller asked for (``weights_only``
    is accepted and ignored so that ESPnet's ``weights_only=False`` calls go through here too)."""
    with torch.serialization.safe_globals(SAFE_GLOBALS):
        try:
            return _torch_load(f, map_location, *args, weights_only=True, **kwargs)
        except Exception as e:  # noqa: BLE001 - re-raised with the file named
            if "Weights only load failed" not in str(e):
                raise
            name = f if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file object>")
            raise RuntimeError(
                f"{name}: refusing to load: it holds Python objects other than tensors and plain data, "
                "and unpickling them could run code. Re-save it as a state dict "
                "(torch.save(model.state_dict(), path)) from a trusted copy.") from None


def save(obj, f, *args, **kwargs) -> None:
    """``torch.save`` that writes a path atomically (file objects are written as given)."""
    if isinstance(f, (str, os.PathLike)):
        with atomic_open(Path(f), "wb") as out:
            _torch_save(obj, out, *args, **kwargs)
    else:
        _torch_save(obj, f, *args, **kwargs)


@contextlib.contextmanager
def espnet_safe_io() -> Iterator[None]:
    """Within: ``torch.load`` is :func:`load` and ``torch.save`` is :func:`save` (restored after)."""
    previous = torch.load, torch.save
    torch.load, torch.save = load, save
    try:
        yield
    finally:
        torch.load, torch.save = previous

