"""espeak-ng through ctypes, with word timings from its word events.

The library and its voice data ship inside the ``espeakng-loader`` wheel, so
nothing is downloaded. We call the C API directly rather than the espeak-ng
command line because only the API reports *word events* with the exact sample
at which each word starts; that gives the corpus its exact word alignments.

espeak-ng keeps global state, so one process holds one :class:`Espeak`;
parallel synthesis uses one per worker process.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

ESPEAK_RATE = 22050  # what espeak-ng synthesises at

# espeak_AUDIO_OUTPUT / espeak_EVENT_TYPE / espeak_PARAMETER / flags from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0

# Samples whose magnitude stays below this (int16) are silence when trimming words.
_SILENCE_LEVEL = 120
_SILENCE_WINDOW = 110  # 5 ms at 22.05 kHz


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character offset in the input
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),  # sample index at ESPEAK_RATE
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class SynthesisError(RuntimeError):
    pass


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: language voice name, variant, pitch (0-99), rate (words/min)."""

    name: str  # e.g. "es", "en-us", "cmn"
    variant: str = ""  # e.g. "f3", "m2"
    pitch: int = 50
    rate: int = 165

    @property
    def espeak_name(self) -> str:
        return f"{self.name}+{self.variant}" if self.variant else self.name


class Espeak:
    """A loaded espeak-ng library that turns word lists into audio and word spans."""

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError as e:  # pragma: no cover - install problem
            raise SynthesisError(
                "espeakng-loader is not installed; `pip install espeakng-loader`"
            ) from e
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._data_path = Path(espeakng_loader.get_data_path())
        data = str(self._data_path).encode()
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if rate != ESPEAK_RATE:
            raise SynthesisError(f"espeak-ng initialisation failed (returned {rate})")
        self._chunks: List[np.ndarray] = []
        self._events: List[Tuple[int, int]] = []  # (text_position, sample)
        self._callback = _Callback(self._on_audio)  # keep a reference: C holds the pointer

    def _on_audio(self, wav, n_samples, events) -> int:
        if n_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_WORD:
                self._events.append((events[i].text_position, events[i].sample))
            i += 1
        return 0  # 0 = continue synthesis

    def _set_voice(self, voice: Voice) -> None:
        # espeak-ng silently falls back to its default for an unknown variant
        if voice.variant and not (self._data_path / "voices" / "!v" / voice.variant).is_file():
            raise SynthesisError(f"espeak-ng has no voice variant {voice.variant!r}")
        if self._lib.espeak_SetVoiceByName(voice.espeak_name.encode()) != _EE_OK:
            raise SynthesisError(f"espeak-ng has no voice {voice.espeak_name!r}")
        self._lib.espeak_SetParameter(_PARAM_RATE, voice.rate, 0)
        self._lib.espeak_SetParameter(_PARAM_PITCH, voice.pitch, 0)

    def synthesize(self, words: Sequence[str], voice: Voice) -> Tuple[np.ndarray, List[Tuple[int, int]]]:
        """Speak ``words``; return int16 audio at 22.05 kHz and per-word (start, end) samples.

        A word's start is the sample of its first espeak word event (Mandarin
        words get one event per character); its end is where the audio before
        the next word's start falls silent.
        """
        # espeak-ng has one callback per process: claim it (another instance may hold it)
        self._lib.espeak_SetSynthCallback(self._callback)
        self._set_voice(voice)
        text = " ".join(words)
        self._chunks, self._events = [], []
        encoded = text.encode("utf-8")
        err = self._lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if err != _EE_OK:
            raise SynthesisError(f"espeak_Synth failed ({err}) on {text!r}")
        self._lib.espeak_Synchronize()
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio, _word_spans(words, self._events, audio, text)


def _word_spans(words, events, audio, text) -> List[Tuple[int, int]]:
    # character offset range of each word in the space-joined text
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    first_sample: List[Optional[int]] = [None] * len(words)
    for text_pos, sample in events:
        char = text_pos - 1
        idx = int(np.searchsorted(starts, char, side="right")) - 1
        if 0 <= idx < len(words) and char < starts[idx] + len(words[idx]):
            if first_sample[idx] is None or sample < first_sample[idx]:
                first_sample[idx] = sample
    if first_sample[0] is None:
        if not any(s is not None for s in first_sample):
            raise SynthesisError(f"espeak-ng gave no word events for {text!r}")
        first_sample[0] = 0
    # espeak-ng speaks some unstressed function words together with a neighbour
    # ("for the" -> one word event); such a group shares its event's span,
    # divided in proportion to the words' lengths in characters.
    group_starts = [i for i, s in enumerate(first_sample) if s is not None] + [len(words)]
    bounds = [s for s in first_sample if s is not None] + [len(audio)]
    spans: List[Tuple[int, int]] = []
    for g, (lo_word, hi_word) in enumerate(zip(group_starts, group_starts[1:])):
        lo, hi = bounds[g], max(bounds[g + 1], bounds[g] + 1)
        lo, hi = _trim_silence(audio, lo, hi)
        lengths = np.array([len(words[i]) + 1 for i in range(lo_word, hi_word)], dtype=float)
        edges = lo + np.round(np.concatenate([[0], np.cumsum(lengths)]) / lengths.sum() * (hi - lo))
        spans.extend((int(a), int(max(b, a + 1))) for a, b in zip(edges, edges[1:]))
    for i in range(1, len(spans)):  # events are monotonic; guard against odd voices
        if spans[i][0] < spans[i - 1][1]:
            spans[i] = (spans[i - 1][1], max(spans[i][1], spans[i - 1][1] + 1))
    return spans


def _trim_silence(audio: np.ndarray, lo: int, hi: int) -> Tuple[int, int]:
    """Shrink [lo, hi) to the voiced part (5 ms windows above the silence level)."""
    seg = np.abs(audio[lo:hi].astype(np.int32))
    n = len(seg) // _SILENCE_WINDOW
    if n == 0:
        return lo, hi
    peaks = seg[: n * _SILENCE_WINDOW].reshape(n, _SILENCE_WINDOW).max(axis=1)
    voiced = np.nonzero(peaks > _SILENCE_LEVEL)[0]
    if len(voiced) == 0:
        logging.debug("silent word span [%d, %d)", lo, hi)
        return lo, hi
    return lo + voiced[0] * _SILENCE_WINDOW, lo + min((voiced[-1] + 1) * _SILENCE_WINDOW, len(seg))
