"""Frame features for discrete speech units (DESIGN.md 3.4).

Units are k-means clusters of frame features. Two families of features:

* ``mfcc`` / ``fbank``: Kaldi-compatible features (``torchaudio.compliance.kaldi``)
  at 16 kHz, 25 ms windows every 10 ms, with optional deltas, then
  ``stack`` consecutive frames averaged into one (default 4: one unit every
  40 ms, close to the 20-40 ms of SSL units), then per-utterance mean/variance
  normalisation. They need no model, so they work where no SSL model exists.
* ``hf_ssl``: the hidden states of one layer of a HuBERT/wav2vec2-style model
  loaded with ``transformers`` from a local directory (no downloads, no remote
  code); one frame every 20 ms (the product of the conv strides).
* ``whisper``: one encoder layer of a Whisper (a transformers directory, e.g. the
  packaged Whisper base that ``prepare_pretrained`` links as ``pretrained/whisper_base``),
  run at the audio's own length by the CSST frontend (``frontends/whisper.py``: the
  same frames the CSST recipe caches), one frame every 20 ms, ``stack`` frames
  averaged (default 2: 40 ms, the rate of the default MFCC units).

Every extractor is deterministic (no dither, eval mode), reports its frame
shift and dimension, predicts its frame count from a sample count (so word
times map to frame indices, :func:`time_to_frame`) and describes itself with
``config()``, a JSON-able dict from which :func:`build_feature_extractor`
rebuilds it; the k-means model stores that dict so units are always dumped
with the features they were learned on.

Audio reading (wav.scp entries, resampling, downmixing) is ``espnet_csst.units.audio``.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch

from espnet_csst.units.audio import FEATURE_FS, load_audio, resample_to, resampled_length

FEATURE_KINDS = ("mfcc", "fbank", "hf_ssl", "whisper")


# --------------------------------------------------------------------------- frames
def time_to_frame(t: float, frame_shift: float, n_frames: int) -> int:
    """Frame index of time ``t`` (seconds): ``round(t / frame_shift)`` clamped to [0, n_frames]."""
    return min(max(int(round(t / frame_shift)), 0), int(n_frames))


def stack_frames(feats: np.ndarray, stack: int) -> np.ndarray:
    """Average every ``stack`` consecutive rows; the last partial group averages what it has."""
    if stack == 1 or len(feats) == 0:
        return feats
    n, d = feats.shape
    groups = -(-n // stack)
    padded = np.zeros((groups * stack, d), dtype=np.float64)
    padded[:n] = feats
    counts = np.full(groups, stack, dtype=np.float64)
    counts[-1] = n - (groups - 1) * stack
    return (padded.reshape(groups, stack, d).sum(1) / counts[:, None]).astype(np.float32)


def utterance_cmvn(feats: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Zero mean, unit variance per dimension over the utterance (constant dims -> 0)."""
    if len(feats) == 0:
        return feats
    x = feats.astype(np.float64)
    x = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    return x.astype(np.float32)


# --------------------------------------------------------------------------- kaldi features
class KaldiFeatureExtractor:
    """MFCC or log-mel filterbank features, stacked and normalised (see module doc)."""

    WINDOW_SAMPLES = 400  # 25 ms at 16 kHz
    SHIFT_SAMPLES = 160  # 10 ms at 16 kHz

    def __init__(self, kind: str, num_ceps: int = 13, num_mel_bins: Optional[int] = None, stack: int = 4,
                 cmvn: bool = True, deltas: Optional[bool] = None):
        if kind not in ("mfcc", "fbank"):
            raise ValueError(f"KaldiFeatureExtractor handles mfcc or fbank, not {kind!r}")
        self.kind = kind
        self.num_mel_bins = int(num_mel_bins if num_mel_bins is not None else (23 if kind == "mfcc" else 40))
        self.num_ceps = int(num_ceps)
        self.stack = int(stack)
        self.cmvn = bool(cmvn)
        self.deltas = bool(deltas if deltas is not None else kind == "mfcc")
        if self.stack < 1:
            raise ValueError(f"stack must be at least 1, got {stack}")
        if kind == "mfcc" and not 1 <= self.num_ceps <= self.num_mel_bins:
            raise ValueError(f"num_ceps ({num_ceps}) must be in [1, num_mel_bins={self.num_mel_bins}]")
        base = self.num_ceps if kind == "mfcc" else self.num_mel_bins
        self.dim = base * (3 if self.deltas else 1)
        self.frame_shift = self.stack * self.SHIFT_SAMPLES / FEATURE_FS

    def config(self) -> Dict:
        conf = {"kind": self.kind, "num_mel_bins": self.num_mel_bins, "stack": self.stack, "cmvn": self.cmvn,
                "deltas": self.deltas}
        if self.kind == "mfcc":
            conf["num_ceps"] = self.num_ceps
        return conf

    def frames_for_duration(self, n_samples: int, fs: int) -> int:
        n = resampled_length(n_samples, fs)
        if n < self.WINDOW_SAMPLES:  # snip_edges: only whole windows give frames
            return 0
        return -(-(1 + (n - self.WINDOW_SAMPLES) // self.SHIFT_SAMPLES) // self.stack)

    def _base_features(self, x: torch.Tensor) -> torch.Tensor:
        import torchaudio.compliance.kaldi as kaldi

        # Kaldi computes on int16-scaled samples; scaling keeps the log floors where Kaldi has them.
        wav = (x * 32768.0)[None]
        common = dict(sample_frequency=FEATURE_FS, frame_length=25.0, frame_shift=10.0, dither=0.0,
                      num_mel_bins=self.num_mel_bins)
        if self.kind == "mfcc":
            return kaldi.mfcc(wav, num_ceps=self.num_ceps, **common)
        return kaldi.fbank(wav, **common)

    def __call__(self, waveform: np.ndarray, fs: int) -> np.ndarray:
        x = resample_to(waveform, fs)
        if len(x) < self.WINDOW_SAMPLES:
            return np.zeros((0, self.dim), dtype=np.float32)
        with torch.no_grad():
            feats = self._base_features(torch.from_numpy(x))
            if self.deltas:
                import torchaudio.functional as AF

                d1 = AF.compute_deltas(feats.T)  # deltas run along the last (time) axis
                feats = torch.cat([feats, d1.T, AF.compute_deltas(d1).T], dim=1)
        out = stack_frames(feats.numpy().astype(np.float32), self.stack)
        return utterance_cmvn(out) if self.cmvn else out


# --------------------------------------------------------------------------- SSL features
class HFSSLFeatureExtractor:
    """One hidden layer of a local HuBERT/wav2vec2-style ``transformers`` model."""

    def __init__(self, path: str, layer: int = 6, device: str = "cpu"):
        from transformers import AutoConfig, AutoModel

        model_dir = Path(path)
        if not (model_dir / "config.json").is_file():
            raise FileNotFoundError(f"hf_ssl: {model_dir} has no config.json; give the directory of a "
                                    "HuBERT/wav2vec2 model saved with save_pretrained (nothing is downloaded)")
        self.path = str(path)
        model_conf = AutoConfig.from_pretrained(self.path, local_files_only=True, trust_remote_code=False)
        for needed in ("conv_kernel", "conv_stride", "num_hidden_layers", "hidden_size"):
            if not hasattr(model_conf, needed):
                raise ValueError(f"hf_ssl: the model in {self.path} ({model_conf.model_type}) has no {needed} "
                                 "in its config; only HuBERT/wav2vec2-style models are supported")
        n_layers = int(model_conf.num_hidden_layers)
        if not 0 <= int(layer) <= n_layers:
            raise ValueError(f"hf_ssl: layer {layer} is out of range for {self.path}: it has {n_layers} layers, "
                             f"so choose 0 (conv features) .. {n_layers} (last layer)")
        self.layer = int(layer)
        self.device = torch.device(device)
        self.processor = self._load_processor()
        self.fs = int(getattr(self.processor, "sampling_rate", FEATURE_FS) or FEATURE_FS)
        self.model = AutoModel.from_pretrained(self.path, local_files_only=True, trust_remote_code=False)
        self.model.to(device=self.device, dtype=torch.float32).eval()
        self.conv = list(zip(model_conf.conv_kernel, model_conf.conv_stride))
        self.dim = int(model_conf.hidden_size)
        self.frame_shift = float(np.prod(model_conf.conv_stride)) / self.fs

    def _load_processor(self):
        if not (Path(self.path) / "preprocessor_config.json").is_file():
            return None  # plain zero-mean unit-variance normalisation, what wav2vec2 processors do
        from transformers import AutoFeatureExtractor

        return AutoFeatureExtractor.from_pretrained(self.path, local_files_only=True, trust_remote_code=False)

    def config(self) -> Dict:
        # the device is a runtime choice, not part of what the features are
        return {"kind": "hf_ssl", "path": self.path, "layer": self.layer}

    def frames_for_duration(self, n_samples: int, fs: int) -> int:
        n = resampled_length(n_samples, fs, self.fs)
        for kernel, stride in self.conv:  # the CNN encoder has no padding
            n = (n - kernel) // stride + 1 if n >= kernel else 0
        return n

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        if self.processor is not None:
            out = self.processor(x, sampling_rate=self.fs, return_tensors="np")
            return np.asarray(out["input_values"][0], dtype=np.float32)
        return ((x - x.mean()) / np.sqrt(x.var() + 1e-7)).astype(np.float32)

    def __call__(self, waveform: np.ndarray, fs: int) -> np.ndarray:
        x = resample_to(waveform, fs, self.fs)
        if self.frames_for_duration(len(x), self.fs) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        inputs = torch.from_numpy(self._normalise(x))[None].to(self.device)
        with torch.no_grad():
            hidden = self.model(inputs, output_hidden_states=True).hidden_states[self.layer]
        return hidden[0].float().cpu().numpy()


class WhisperFeatureExtractor:
    """One encoder layer of a Whisper at the audio's own length, ``stack`` frames averaged."""

    def __init__(self, path: str, layer: int = -1, stack: int = 2, device: str = "cpu"):
        from espnet_csst.frontends.whisper import WHISPER_FS, WhisperFrontend

        if not (Path(path) / "config.json").is_file():
            raise FileNotFoundError(f"whisper: {path} has no config.json; give a transformers Whisper directory "
                                    "(the mini recipes link the packaged Whisper base as pretrained/whisper_base)")
        if int(stack) < 1:
            raise ValueError(f"stack must be at least 1, got {stack}")
        self.path, self.stack = str(path), int(stack)
        self.frontend = WhisperFrontend(self.path, layer=int(layer)).to(device).eval()
        self.layer = self.frontend.layer  # -1 resolved: the config names the block
        self.device = torch.device(device)
        self.fs = WHISPER_FS
        self.dim = self.frontend.output_size()
        self.frame_shift = self.stack / self.frontend.frames_per_second

    def config(self) -> Dict:
        return {"kind": "whisper", "path": self.path, "layer": self.layer, "stack": self.stack}

    def frames_for_duration(self, n_samples: int, fs: int) -> int:
        n = int(self.frontend.output_lengths(torch.tensor([resampled_length(n_samples, fs, self.fs)]))[0])
        return -(-n // self.stack)

    def __call__(self, waveform: np.ndarray, fs: int) -> np.ndarray:
        x = resample_to(waveform, fs, self.fs)
        if self.frames_for_duration(len(x), self.fs) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with torch.no_grad():
            frames, lengths = self.frontend(torch.from_numpy(x)[None].to(self.device), torch.tensor([len(x)]))
        return stack_frames(frames[0, : int(lengths[0])].float().cpu().numpy(), self.stack)


# --------------------------------------------------------------------------- factory
def build_feature_extractor(kind: str, **conf):
    """An extractor for ``kind`` (``mfcc``, ``fbank``, ``hf_ssl`` or ``whisper``) with options ``conf``.

    ``build_feature_extractor(**extractor.config())`` rebuilds an identical one.
    """
    if kind in ("mfcc", "fbank"):
        allowed = {"num_ceps", "num_mel_bins", "stack", "cmvn", "deltas"} - ({"num_ceps"} if kind == "fbank" else set())
        cls = functools.partial(KaldiFeatureExtractor, kind)
    elif kind == "hf_ssl":
        allowed = {"path", "layer", "device"}
        if "path" not in conf:
            raise ValueError('hf_ssl features need the model directory: give {"path": "/dir/of/model"}')
        cls = HFSSLFeatureExtractor
    elif kind == "whisper":
        allowed = {"path", "layer", "stack", "device"}
        if "path" not in conf:
            raise ValueError('whisper features need the model directory: give {"path": "pretrained/whisper_base"}')
        cls = WhisperFeatureExtractor
    else:
        raise ValueError(f"unknown feature type {kind!r}; choose one of {', '.join(FEATURE_KINDS)}")
    unknown = sorted(set(conf) - allowed)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for {kind} features; allowed: {sorted(allowed)}")
    logging.debug(f"feature extractor {kind} {conf}")
    return cls(**conf)


def iter_utterance_features(entries, extractor, drops, desc: str = "features"):
    """Yield ``(utt, feats (T, D))`` for ``[(utt, wav.scp value), ...]`` with a progress bar.

    Unreadable audio and audio too short for one frame are skipped with a
    warning naming the utterance and path; ``drops`` (a ``collections.Counter``)
    counts them by reason for the caller's final log line.
    """
    from tqdm import tqdm

    for utt, spec in tqdm(entries, desc=desc, unit="utt", mininterval=2.0):
        try:
            wav, fs = load_audio(spec)
        except (FileNotFoundError, ValueError) as e:
            logging.warning(f"skipping {utt}: {e}")
            drops["unreadable audio"] += 1
            continue
        feats = extractor(wav, fs)
        if len(feats) == 0:
            logging.warning(f"skipping {utt}: {spec} is too short for one feature frame "
                            f"({len(wav)} samples at {fs} Hz)")
            drops["too short"] += 1
            continue
        yield utt, feats


__all__ = ["FEATURE_KINDS", "HFSSLFeatureExtractor", "KaldiFeatureExtractor", "build_feature_extractor",
           "iter_utterance_features", "stack_frames", "time_to_frame", "utterance_cmvn"]
