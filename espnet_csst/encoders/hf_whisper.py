"""The encoder of a Hugging Face Whisper checkpoint as an ESPnet encoder.

ESPnet's own ``whisper`` encoder needs the openai-whisper package and its download
cache; this one loads a transformers checkpoint from a local directory (e.g. one made
by ``import_ct2_whisper``) or hub name, or builds a random one from a config (tests).
It takes the waveform (use ``frontend: null``) and is the same model as the
``whisper_hf`` frontend (``espnet_csst/frontends/whisper.py``: log-mel at the audio's
own length, a choice of layer, the top blocks fine-tuned): use this role when Whisper
*is* the trained encoder (``freeze: false`` or ``finetune_top``), the frontend when a
frozen Whisper feeds a small trainable encoder (its frames can be cached).
"""

from __future__ import annotations

from typing import Optional

import torch

from espnet2.asr.encoder.abs_encoder import AbsEncoder

from espnet_csst.frontends.whisper import WhisperFrontend


class HFWhisperEncoder(AbsEncoder):
    def __init__(
        self,
        input_size: int = 1,
        model_name_or_path: Optional[str] = None,
        config: Optional[dict] = None,
        freeze: bool = True,
        finetune_top: Optional[int] = None,
        layer: int = -1,
        pad_to_window: bool = False,
        trust_remote_code: bool = False,
    ):
        super().__init__()
        if finetune_top is None:
            finetune_top = 0 if freeze else -1
        elif freeze and finetune_top:
            raise ValueError(f"freeze: true contradicts finetune_top: {finetune_top}; drop one of them")
        self.whisper = WhisperFrontend(
            model_name_or_path=model_name_or_path, config=config, layer=layer,
            pad_to_window=pad_to_window, finetune_top=finetune_top, trust_remote_code=trust_remote_code,
        )

    @property
    def encoder(self):  # the transformers WhisperEncoder (LoRA targets, tests)
        return self.whisper.encoder

    def output_size(self) -> int:
        return self.whisper.output_size()

    def forward(self, xs_pad: torch.Tensor, ilens: torch.Tensor, prev_states=None):
        out, olens = self.whisper(xs_pad, ilens)
        return out, olens, None
