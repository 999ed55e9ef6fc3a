"""A pretrained Whisper encoder as an ESPnet frontend, run at the audio's own length.

ESPnet treats pretrained speech models as frontends (``s3prl``): the waveform goes
in, frames for the encoder come out. This frontend does the same with a Hugging Face
Whisper checkpoint (a local directory, e.g. one made by ``import_ct2_whisper``, or a
hub name), so a config reads ``frontend: whisper_hf`` -> ``encoder: conformer`` (a
small trainable adapter) -> projector -> LLM.

Choices beyond ESPnet's frontends, and why:

* **No padding to 30 s** (``pad_to_window: false``, the default). Whisper was trained
  on 30 s windows, but a 3 s utterance padded to 30 s costs ten times the compute.
  The positional embeddings are cut to the input's length, each utterance's log-mel is
  normalised over its own frames (as Whisper's feature extractor does: the padding it
  adds never raises the peak), and padded frames are masked at every step (the two
  convolutions and self-attention), so an utterance gives the same frames alone or in a
  batch. ``pad_to_window: true`` runs Whisper exactly as trained, for comparison.
* **Any layer** (``layer``: how many encoder blocks to run; -1 all of them plus the
  final layer norm, i.e. Whisper's own encoder output). Lower layers hold more of the
  acoustics and cost less.
* **Frozen by default, or the top ``finetune_top`` blocks trained** (-1: all of it). Frozen outputs do
  not change during training, so recipes compute them once per utterance
  (``dump_frontend_feats``) and training reads the frames: ``forward`` then receives
  (B, T, D) frames instead of a (B, T) waveform and passes them through. With the top
  blocks trained, what is cached is the frozen blocks' output (``frames_to_cache``: the
  same frames a frozen frontend of ``layer - finetune_top`` blocks gives, so the two share
  a cache), and ``forward`` runs the trained blocks on it: fine-tuning costs only the
  blocks it trains. ``cache_key`` fingerprints what the frames depend on, so a cache made
  with another checkpoint, layer or padding is refused rather than silently mixed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch

from espnet2.asr.frontend.abs_frontend import AbsFrontend

WHISPER_FS = 16000


def load_whisper_encoder(model_name_or_path: Optional[str], config: Optional[dict],
                         trust_remote_code: bool = False):
    """(WhisperEncoder, WhisperConfig) from a checkpoint directory / hub name, or random from a config."""
    from transformers import WhisperConfig, WhisperModel
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    if model_name_or_path:
        local = Path(model_name_or_path).expanduser().exists()
        whisper = WhisperModel.from_pretrained(
            model_name_or_path, local_files_only=local, trust_remote_code=trust_remote_code,
            dtype=torch.float32,
        )
        return whisper.get_encoder(), whisper.config
    cfg = WhisperConfig(**(config or {}))
    return WhisperEncoder(cfg), cfg


def frontend_conf_is_cacheable(frontend_conf: dict) -> bool:
    """Whether a ``whisper_hf`` frontend_conf leaves a frozen part whose frames a recipe can cache
    (WhisperFrontend.cacheable), read from the checkpoint's config alone (no weights loaded)."""
    top = int(frontend_conf.get("finetune_top", 0) or 0)
    if top == 0:
        return True
    if top == -1 or frontend_conf.get("pad_to_window"):
        return False
    layer = int(frontend_conf.get("layer", -1))
    if layer == -1:
        from transformers import WhisperConfig

        path = frontend_conf.get("model_name_or_path")
        if path:
            local = Path(path).expanduser().exists()
            layer = WhisperConfig.from_pretrained(path, local_files_only=local).encoder_layers
        else:
            layer = WhisperConfig(**(frontend_conf.get("config") or {})).encoder_layers
    return top < layer


class WhisperFrontend(AbsFrontend):
    """Waveform (B, T) -> Whisper encoder frames (B, T', D) at 50 frames per second."""

    accepts_cached_frames = True  # (B, T, D) input is cached frames: passed through
    frames_per_second = 50

    def __init__(
        self,
        model_name_or_path: Optional[str] = None,
        config: Optional[dict] = None,
        layer: int = -1,
        pad_to_window: bool = False,
        finetune_top: int = 0,
        fs: int = WHISPER_FS,
        trust_remote_code: bool = False,
    ):
        super().__init__()
        from transformers import WhisperFeatureExtractor

        if int(fs) != WHISPER_FS:
            raise ValueError(f"Whisper reads {WHISPER_FS} Hz audio, got fs={fs}: resample the data "
                             "(csst.sh stage 2 converts audio to 16 kHz)")
        encoder, cfg = load_whisper_encoder(model_name_or_path, config, trust_remote_code)
        n_blocks = len(encoder.layers)
        if layer == -1:
            layer = n_blocks
        if not 1 <= layer <= n_blocks:
            raise ValueError(f"layer must be -1 or in 1..{n_blocks} (this Whisper has {n_blocks} blocks), got {layer}")
        if finetune_top == -1:
            finetune_top = layer
        if not 0 <= finetune_top <= layer:
            raise ValueError(f"finetune_top must be -1 (all) or in 0..layer={layer}, got {finetune_top}")
        # blocks above the chosen layer are never run: drop them (less memory, smaller checkpoints)
        encoder.layers = encoder.layers[:layer]
        self.encoder = encoder
        self.layer, self.n_blocks = layer, n_blocks
        self.final_norm = layer == n_blocks  # Whisper's output = last block + layer norm
        if not self.final_norm:
            self.encoder.layer_norm = None
        self.pad_to_window = bool(pad_to_window)
        self.model_name_or_path = model_name_or_path
        fe = WhisperFeatureExtractor(feature_size=cfg.num_mel_bins)
        self.register_buffer("mel_filters", torch.tensor(fe.mel_filters, dtype=torch.float32), persistent=False)
        self.n_fft, self.hop = fe.n_fft, fe.hop_length
        self.max_frames = cfg.max_source_positions * 2  # mel frames in Whisper's 30 s window
        self._output_size = cfg.d_model
        self.finetune_top = finetune_top
        self.encoder.requires_grad_(False)
        for block in self.encoder.layers[layer - finetune_top:] if finetune_top else []:
            block.requires_grad_(True)
        if finetune_top and self.final_norm:
            self.encoder.layer_norm.requires_grad_(True)
        if finetune_top == layer:  # everything: the convolutions too (positions stay, as in HF)
            self.encoder.conv1.requires_grad_(True)
            self.encoder.conv2.requires_grad_(True)

    @property
    def frozen(self) -> bool:
        return self.finetune_top == 0

    @property
    def cacheable(self) -> bool:
        """Some of it is frozen from the input on (the convolutions at least): that part's frames can be
        cached. Not with ``pad_to_window`` and trained blocks: those would attend to the 30 s of
        padding, which the cache does not keep."""
        return self.frozen or (self.finetune_top < self.layer and not self.pad_to_window)

    @property
    def cached_blocks(self) -> int:
        """How many blocks the cached frames have been through (the frozen ones)."""
        return self.layer - self.finetune_top

    def output_size(self) -> int:
        return self._output_size

    # ------------------------------------------------------------------ features
    def log_mel(self, speech: torch.Tensor, n_frames: torch.Tensor) -> torch.Tensor:
        """(B, samples) -> (B, n_mels, frames): Whisper's log-mel, normalised per utterance
        over its own frames (frames past an utterance's end are set to 0)."""
        window = torch.hann_window(self.n_fft, device=speech.device)
        # zeros after every utterance's end, as Whisper's 30 s padding puts there: the last
        # frames of the longest utterance then see what they see alone or in any batch
        speech = torch.nn.functional.pad(speech.float(), (0, self.n_fft // 2))
        stft = torch.stft(speech, self.n_fft, self.hop, window=window, return_complex=True)
        mel = self.mel_filters.T @ (stft[..., :-1].abs() ** 2)
        log_spec = torch.clamp(mel, min=1e-10).log10()
        valid = self._frame_mask(n_frames, log_spec.size(-1))[:, None, :]
        peak = log_spec.masked_fill(~valid, float("-inf")).amax(dim=(1, 2), keepdim=True)
        feats = (torch.maximum(log_spec, peak - 8.0) + 4.0) / 4.0
        return feats.masked_fill(~valid, 0.0)

    @staticmethod
    def _frame_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
        return torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]

    def output_lengths(self, input_lengths: torch.Tensor) -> torch.Tensor:
        """Samples -> output frames: hop 160 (10 ms), then the stride-2 convolution (20 ms)."""
        mel_frames = torch.div(input_lengths, self.hop, rounding_mode="floor")
        return torch.div(mel_frames + 1, 2, rounding_mode="floor")

    # ------------------------------------------------------------------ encoder
    def _run_encoder(self, feats: torch.Tensor, mel_lens: torch.Tensor, out_lens: torch.Tensor,
                     stop: Optional[int] = None) -> torch.Tensor:
        """Log-mel -> the output of the first ``stop`` blocks (all of them and the final norm: None)."""
        enc = self.encoder
        mel_mask = self._frame_mask(mel_lens, feats.size(-1))[:, None, :]
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.finetune_top == self.layer):
            x = torch.nn.functional.gelu(enc.conv1(feats)).masked_fill(~mel_mask, 0.0)
            x = torch.nn.functional.gelu(enc.conv2(x)).permute(0, 2, 1)
        n = x.size(1)
        x = x + enc.embed_positions.weight[:n].to(x.dtype)
        return self._run_blocks(x, out_lens, 0, stop)

    def _run_blocks(self, x: torch.Tensor, lens: torch.Tensor, start: int, stop: Optional[int]) -> torch.Tensor:
        """Blocks ``start`` .. ``stop`` - 1 on frames ``x`` (B, T, D); ``stop`` None: to the end, final norm included."""
        keep = self._frame_mask(lens, x.size(1))
        x = x.masked_fill(~keep[..., None], 0.0)
        # additive key-padding mask, (B, 1, 1, T): padded frames are never attended to
        attn_mask = torch.zeros(keep.shape, dtype=x.dtype, device=x.device)
        attn_mask = attn_mask.masked_fill(~keep, torch.finfo(x.dtype).min)[:, None, None, :]
        for i, block in enumerate(self.encoder.layers[start:stop], start):
            # frozen blocks keep no activations for backward
            with torch.set_grad_enabled(torch.is_grad_enabled() and i >= self.cached_blocks):
                x = block(x, attn_mask)
        if stop is None and self.final_norm:
            x = self.encoder.layer_norm(x)
        return x.masked_fill(~keep[..., None], 0.0)

    def forward(self, input: torch.Tensor, input_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if input.dim() == 3 and input.size(-1) == self._output_size:
            # frames from the feature cache (dump_frontend_feats): the frozen blocks' output
            if self.frozen:
                return input, input_lengths
            x = input.to(self.encoder.layers[-1].fc1.weight.dtype)
            return self._run_blocks(x, input_lengths, self.cached_blocks, None), input_lengths
        return self._from_waveform(input, input_lengths, stop=None)

    def frames_to_cache(self, input: torch.Tensor, input_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Waveform (B, T) -> what ``dump_frontend_feats`` caches: the frozen blocks' output
        (the whole frontend's output when it is frozen)."""
        if not self.cacheable:
            raise ValueError(f"finetune_top={self.finetune_top} trains every block and the convolutions: "
                             "nothing of this frontend is frozen, so no frames can be cached")
        return self._from_waveform(input, input_lengths, stop=None if self.frozen else self.cached_blocks)

    def _from_waveform(self, input: torch.Tensor, input_lengths: torch.Tensor,
                       stop: Optional[int]) -> Tuple[torch.Tensor, torch.Tensor]:
        if input.dim() == 3:  # (B, T, 1) waveform
            input = input.squeeze(-1)
        mel_lens = torch.div(input_lengths, self.hop, rounding_mode="floor")
        if int(mel_lens.max()) > self.max_frames:
            raise ValueError(
                f"an utterance of {int(mel_lens.max()) / 100:.1f} s exceeds Whisper's 30 s window; "
                "segment long audio (or raise max_dur filtering) before training"
            )
        out_lens = self.output_lengths(input_lengths)
        if self.pad_to_window:
            samples = self.max_frames * self.hop
            input = torch.nn.functional.pad(input[..., :samples], (0, samples - min(input.size(-1), samples)))
            # Whisper's own features: the 30 s window, normalised over all of it
            feats = self.log_mel(input, torch.full_like(mel_lens, self.max_frames))[..., : self.max_frames]
            mel_all = torch.full_like(mel_lens, self.max_frames)
            out = self._run_encoder(feats, mel_all, torch.full_like(out_lens, self.max_frames // 2), stop)
        else:
            input = input[..., : int(input_lengths.max())]
            feats = self.log_mel(input, mel_lens)[..., : int(mel_lens.max())]
            out = self._run_encoder(feats, mel_lens, out_lens, stop)
        return out[:, : int(out_lens.max())], out_lens

    # ------------------------------------------------------------------ cache identity
    def cache_key(self) -> Dict[str, object]:
        """What cached frames depend on: the weights of the frozen blocks run, their number, the padding.

        A frontend whose top blocks train caches its frozen blocks' output, which is what a frozen
        frontend of that many blocks gives: both get the same key and may share a cache.
        """
        h = hashlib.sha256()
        frozen_part = {
            name: tensor for name, tensor in self.encoder.state_dict().items()
            if self.frozen or not (name.startswith("layer_norm.") or self._block_index(name) >= self.cached_blocks)
        }
        for name, tensor in sorted(frozen_part.items()):
            h.update(name.encode())
            h.update(str(tuple(tensor.shape)).encode())
            h.update(tensor.detach().to(torch.float32).contiguous().cpu().numpy().tobytes())
        return {
            "frontend": "whisper_hf",
            "weights_sha256": h.hexdigest(),
            "model": str(self.model_name_or_path),  # informative; not compared (paths move)
            "layer": self.cached_blocks,  # frozen: all of them; 0 when nothing is frozen (no cache fits)
            "pad_to_window": self.pad_to_window,
            "output_size": self._output_size,
            "frame_shift_ms": 20,
        }

    @staticmethod
    def _block_index(name: str) -> int:
        """``layers.3.fc1.weight`` -> 3; -1 for what is not in a block (convolutions, positions)."""
        parts = name.split(".")
        return int(parts[1]) if parts[0] == "layers" else -1
