"""The encoder of a Hugging Face Whisper checkpoint as an ESPnet encoder.

ESPnet's own ``whisper`` encoder needs the openai-whisper package and its
download cache; this one loads a transformers checkpoint from a local
directory (or hub name), or builds a random one from a config (tests).
It takes the waveform (use ``frontend: null``) and computes Whisper's own
log-mel features, padded to Whisper's fixed 30 s window as the model was
trained; outputs are trimmed back to each utterance's length.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from espnet2.asr.encoder.abs_encoder import AbsEncoder


class HFWhisperEncoder(AbsEncoder):
    def __init__(
        self,
        input_size: int = 1,
        model_name_or_path: Optional[str] = None,
        config: Optional[dict] = None,
        freeze: bool = True,
        trust_remote_code: bool = False,
    ):
        super().__init__()
        from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        if model_name_or_path:
            local = Path(model_name_or_path).expanduser().exists()
            whisper = WhisperModel.from_pretrained(
                model_name_or_path, local_files_only=local, trust_remote_code=trust_remote_code
            )
            self.encoder = whisper.get_encoder()
            cfg = whisper.config
        else:
            cfg = WhisperConfig(**(config or {}))
            self.encoder = WhisperEncoder(cfg)
        fe = WhisperFeatureExtractor(feature_size=cfg.num_mel_bins)
        self.register_buffer("mel_filters", torch.tensor(fe.mel_filters, dtype=torch.float32), persistent=False)
        self.n_fft, self.hop = fe.n_fft, fe.hop_length
        self.n_frames = cfg.max_source_positions * 2
        self._output_size = cfg.d_model
        if freeze:
            for p in self.encoder.parameters():
                p.requires_grad_(False)

    def output_size(self) -> int:
        return self._output_size

    def log_mel(self, speech: torch.Tensor) -> torch.Tensor:
        window = torch.hann_window(self.n_fft, device=speech.device)
        stft = torch.stft(speech.float(), self.n_fft, self.hop, window=window, return_complex=True)
        mel = self.mel_filters.T @ (stft[..., :-1].abs() ** 2)
        log_spec = torch.clamp(mel, min=1e-10).log10()
        peak = log_spec.amax(dim=(1, 2), keepdim=True)
        return (torch.maximum(log_spec, peak - 8.0) + 4.0) / 4.0

    def forward(self, xs_pad: torch.Tensor, ilens: torch.Tensor, prev_states=None):
        if xs_pad.dim() == 3:  # (B, T, 1) raw audio from a frontend-less config
            xs_pad = xs_pad.squeeze(-1)
        frames = xs_pad.size(-1) // self.hop
        if frames > self.n_frames:
            raise ValueError(
                f"utterance of {frames} frames exceeds Whisper's {self.n_frames}-frame (30 s) window; "
                "segment long audio before training"
            )
        # pad the *audio* to the window, as Whisper's feature extractor does: the padding is
        # then log-mel silence (clamped to peak - 8), not zeros in the normalised feature domain
        n_samples = self.n_frames * self.hop
        xs_pad = torch.nn.functional.pad(xs_pad[..., :n_samples], (0, n_samples - min(xs_pad.size(-1), n_samples)))
        feats = self.log_mel(xs_pad)
        out = self.encoder(feats).last_hidden_state
        olens = torch.div(ilens, self.hop * 2, rounding_mode="floor") + 1
        olens = olens.clamp(max=out.size(1))
        return out[:, : int(olens.max())], olens, None
