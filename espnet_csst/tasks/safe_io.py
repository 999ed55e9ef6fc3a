"""A mixin for the project's ESPnet tasks: ESPnet's loading and saving with ``weights_only`` and atomic writes."""

from __future__ import annotations

import argparse

from espnet_csst.utils.safe_torch import espnet_safe_io


class SafeIOTaskMixin:
    """Runs ESPnet's training worker and ``build_model_from_file`` inside
    :func:`~espnet_csst.utils.safe_torch.espnet_safe_io`: checkpoints, ``--init_param`` files and model
    files are loaded with ``weights_only=True``, and checkpoints are written atomically.

    ``main_worker`` (not ``main``) is wrapped because ESPnet's multi-GPU mode starts it in
    spawned processes, where a patch made in ``main`` would not exist.
    """

    @classmethod
    def main_worker(cls, args: argparse.Namespace):
        with espnet_safe_io():
            return super().main_worker(args)

    @classmethod
    def build_model_from_file(cls, config_file=None, model_file=None, device: str = "cpu"):
        with espnet_safe_io():
            return super().build_model_from_file(config_file, model_file, device)
