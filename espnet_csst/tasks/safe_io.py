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
        """ESPnet's, loading safely; a model file that does not fit its config (another token
        list, another size) is a ValueError naming both files instead of torch's state-dict dump."""
        with espnet_safe_io():
            try:
                return super().build_model_from_file(config_file, model_file, device)
            except RuntimeError as e:
                mismatch = [ln.strip() for ln in str(e).splitlines() if "size mismatch" in ln]
                if not mismatch:
                    raise
                raise ValueError(
                    f"{model_file} does not fit {config_file}: {mismatch[0]} ({len(mismatch)} such tensors). "
                    "The config's token list or model sizes differ from the ones the model was trained "
                    "with; use the config.yaml written next to the model file") from None
