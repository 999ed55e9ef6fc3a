"""Reading audio for the S2ST tools: wav.scp entries to mono float32 at a given rate.

One place for what the unit features, the vocoder and the ASR scorer all need:
relative paths resolved as the data tools resolve them (against the working
directory, else the corpus root with ``corpus.json``), Kaldi pipe commands
(``cmd |``) run through the shell, multi-channel audio downmixed, other rates
resampled with torchaudio. Every error names the entry.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import torch

from espnet_csst.data.datadir import read_map
from espnet_csst.data.validate import find_corpus_root, resolve_audio_path

#: The rate of the recipes' audio, the unit features and the vocoder.
FEATURE_FS = 16000


def to_mono_float32(waveform: np.ndarray) -> np.ndarray:
    """A 1-D float32 waveform; 2-D input is downmixed by the mean over channels.

    The shorter axis of a 2-D array is taken as the channel axis, so both the
    ``(samples, channels)`` layout of soundfile and torch's ``(channels, samples)``
    work (an utterance always has more samples than channels).
    """
    x = np.asarray(waveform)
    if x.ndim == 2:
        x = x.mean(axis=1 if x.shape[0] >= x.shape[1] else 0)
    elif x.ndim != 1:
        raise ValueError(f"expected a mono (samples,) or multi-channel 2-D waveform, got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def resample_to(waveform: np.ndarray, fs: int, target_fs: int = FEATURE_FS) -> np.ndarray:
    """Mono float32 at ``target_fs`` (torchaudio's band-limited sinc resampling)."""
    x = to_mono_float32(waveform)
    if fs <= 0:
        raise ValueError(f"sampling rate must be positive, got {fs}")
    if fs == target_fs or x.size == 0:
        return x
    import torchaudio.functional as AF

    return AF.resample(torch.from_numpy(x), int(fs), int(target_fs)).numpy().astype(np.float32, copy=False)


def resampled_length(n_samples: int, fs: int, target_fs: int = FEATURE_FS) -> int:
    """The sample count :func:`resample_to` produces (torchaudio rounds up)."""
    if fs == target_fs:
        return int(n_samples)
    return -(-int(n_samples) * int(target_fs) // int(fs))


def read_wav_scp(path) -> List[Tuple[str, str]]:
    """``[(utt, audio path or 'cmd |'), ...]`` in file order; relative paths resolved
    against the working directory or, failing that, the corpus root (``corpus.json``)."""
    path = Path(path)
    root = find_corpus_root(path.parent)
    entries = []
    for utt, value in read_map(path).items():
        entries.append((utt, value if value.endswith("|") else str(resolve_audio_path(value, root))))
    return entries


def load_audio(spec: str) -> Tuple[np.ndarray, int]:
    """Read one wav.scp entry with soundfile: a path, or a Kaldi pipe command ``cmd |``.

    Raises ``FileNotFoundError``/``ValueError`` naming the path (callers skip the utterance).
    """
    import soundfile

    if spec.endswith("|"):
        proc = subprocess.run(spec[:-1], shell=True, capture_output=True)
        if proc.returncode != 0:
            raise ValueError(f"command {spec!r} failed ({proc.returncode}): "
                             f"{proc.stderr.decode(errors='replace').strip()[-200:]}")
        source = io.BytesIO(proc.stdout)
    else:
        if not Path(spec).is_file():
            raise FileNotFoundError(f"audio file {spec!r} not found")
        source = spec
    try:
        data, fs = soundfile.read(source, dtype="float32", always_2d=False)
    except Exception as e:  # soundfile raises RuntimeError/LibsndfileError subclasses
        raise ValueError(f"cannot read audio {spec!r}: {e}") from None
    return data, int(fs)


def load_mono(spec: str, fs: Optional[int] = FEATURE_FS) -> Tuple[np.ndarray, int]:
    """One wav.scp entry as (mono float32 samples, rate), resampled to ``fs`` unless it is None.

    Empty audio and NaN/infinite samples are errors naming the entry.
    """
    wav, rate = load_audio(spec)
    wav = to_mono_float32(wav)
    if wav.size == 0:
        raise ValueError(f"{spec}: the audio is empty")
    if not np.isfinite(wav).all():
        raise ValueError(f"{spec}: the audio has NaN or infinite samples")
    if fs is not None and rate != fs:
        wav, rate = resample_to(wav, rate, fs), fs
    return wav, rate
