"""A pretrained Whisper as the ASR judge of ASR-BLEU, as the S2ST literature scores it.

The recipe's own CTC ASR learns from the few hours of target speech it is given and
therefore judges every system, and the reference audio itself, through its own errors
(the mini recipe's reference audio scored 48 ASR-BLEU with it). A pretrained Whisper
(the OpenAI Whisper base that ``import_ct2_whisper`` / ``prepare_pretrained`` make
available offline, or any transformers Whisper directory or hub name) does not learn
from the systems' data, so its errors are the same for every system.

Whisper runs as it was trained: each utterance padded to the 30 s window by its own
feature extractor, ``<|lang|><|transcribe|><|notimestamps|>`` as the prompt, greedy or
beam search through transformers' ``generate``, batched. The CSST frontend
(``frontends/whisper.py``) cuts the window to the audio's length, but its decoder has
never seen such windows: on the 100 English reference utterances of the mini s2st_test,
Whisper base transcribed at WER 13.7 % in its 30 s window and at WER 402 % (repeated
words to the token limit) with the window cut to the audio, so the judge does not cut it.
Audio longer than 30 s is not cut either: it is reported as failed. Transcripts go through
:func:`normalize_for_asr`, like the references of ASR-BLEU.

``max_tokens_per_second`` caps each batch's answer by its longest audio. Unintelligible
audio (a system that has not learnt yet) makes the decoder repeat itself up to
``max_new_tokens``, and with beam search that dominated the mini S2ST recipe's scoring
time; speech has a few tokens per second (the mini corpus's English references: 3.6 on
average, at most 5.2), so a cap well above that changes no transcript of real speech.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch

from espnet_csst.frontends.whisper import WHISPER_FS
from espnet_csst.scoring.asr import AbsASRJudge, normalize_for_asr, to_mono_at


class WhisperASR(AbsASRJudge):
    """Waveforms -> Whisper transcripts in one language (``language`` None: an English-only model)."""

    fs = WHISPER_FS

    def __init__(self, model_name_or_path: str, language: Optional[str] = "en", beam_size: int = 1,
                 max_new_tokens: int = 128, device: str = "cpu", dtype: str = "float32",
                 trust_remote_code: bool = False, max_tokens_per_second: Optional[float] = None):
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        local = Path(str(model_name_or_path)).expanduser().exists()
        if not local and Path(str(model_name_or_path)).is_absolute():
            raise FileNotFoundError(f"{model_name_or_path}: no such Whisper directory")
        if beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {beam_size}")
        if max_tokens_per_second is not None and not max_tokens_per_second > 0:
            raise ValueError(f"max_tokens_per_second must be positive, got {max_tokens_per_second}")
        self.max_tokens_per_second = max_tokens_per_second
        self.name = str(model_name_or_path)
        self.processor = WhisperProcessor.from_pretrained(
            model_name_or_path, local_files_only=local, trust_remote_code=trust_remote_code)
        self.model = WhisperForConditionalGeneration.from_pretrained(
            model_name_or_path, local_files_only=local, trust_remote_code=trust_remote_code,
            dtype=getattr(torch, dtype)).to(device).eval()
        self.device, self.beam_size = device, int(beam_size)
        gen = self.model.generation_config
        self.multilingual = bool(getattr(gen, "is_multilingual", False))
        if self.multilingual:
            if not language:
                raise ValueError(f"{self.name} is multilingual: give the language to transcribe (e.g. en)")
            lang_to_id = getattr(gen, "lang_to_id", None) or {}
            if f"<|{language}|>" not in lang_to_id:
                raise ValueError(f"{self.name} has no language '{language}' (it has "
                                 f"{' '.join(sorted(k.strip('<|>') for k in lang_to_id))})")
        self.language = language if self.multilingual else None
        fe = self.processor.feature_extractor
        self.window_samples = int(fe.n_samples)
        # the prompt (up to 4 tokens) and the answer share the decoder's positions
        self.max_new_tokens = max(1, min(int(max_new_tokens), self.model.config.max_target_positions - 4))

    def describe(self) -> str:
        search = "greedy" if self.beam_size == 1 else f"beam {self.beam_size}"
        if self.max_tokens_per_second is not None:
            search += f", at most {self.max_tokens_per_second:g} tokens/s"
        lang = f"{self.language}, " if self.language else ""
        return f"Whisper {self.name} ({lang}transcribe, {search}, 30 s window, {self.model.dtype}) on {self.device}"

    def skip_reason(self, n_samples: int, fs: int) -> str:
        return (f"audio longer than Whisper's {self.window_samples // WHISPER_FS} s window "
                f"({n_samples / fs:.1f} s); the judge transcribes one window per utterance")

    def answer_limit(self, seconds: float) -> int:
        """Tokens an answer may have for audio of this length (the longest of a batch)."""
        if self.max_tokens_per_second is None:
            return self.max_new_tokens
        # the margin: punctuation and casing, which the normalised references do not count
        return min(self.max_new_tokens, math.ceil(self.max_tokens_per_second * seconds) + 10)

    @torch.inference_mode()
    def transcribe_batch(self, waves: Sequence[np.ndarray], fs: Sequence[int]) -> List[Optional[str]]:
        xs = [to_mono_at(w, r, WHISPER_FS).numpy() for w, r in zip(waves, fs)]
        # empty audio has no words (not a failure of the judge); audio past the window is one (None)
        out: List[Optional[str]] = ["" if len(x) == 0 else None for x in xs]
        ok = [i for i, x in enumerate(xs) if 0 < len(x) <= self.window_samples]
        if not ok:
            return out
        kwargs = dict(num_beams=self.beam_size, do_sample=False,
                      max_new_tokens=self.answer_limit(max(len(xs[i]) for i in ok) / WHISPER_FS))
        if self.multilingual:
            kwargs.update(language=self.language, task="transcribe")
        feats = self.processor.feature_extractor(
            [xs[i] for i in ok], sampling_rate=WHISPER_FS, return_tensors="pt").input_features
        ids = self.model.generate(feats.to(self.device, self.model.dtype), **kwargs)
        texts = self.processor.tokenizer.batch_decode(ids, skip_special_tokens=True)
        for i, text in zip(ok, texts):
            out[i] = normalize_for_asr(text)
        return out
