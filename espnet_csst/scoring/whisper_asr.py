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

Two runtimes (``backend``): transformers' ``generate`` (float32, or bfloat16 on a CPU with
AVX512-BF16), or CTranslate2's Whisper (``ctranslate2``, what faster-whisper runs: the same
weights converted once by ctranslate2's own ``TransformersConverter`` into a directory beside
the model, ``<model>-ctranslate2-<compute type>``). Hand-written search code would be needed for
neither; CTranslate2 is there because its beam search over the same float32 weights ran 2.7x
faster than transformers' on the 2-core CPU (doc/s2st.md, bench/bench_judge.py), and the judge's
beam search was most of the mini S2ST recipe's scoring time. It uses the same feature extractor,
prompt, suppressed tokens (the model's ``suppress_ids``, and blanks at the start) and answer cap.

``max_tokens_per_second`` caps each batch's answer by its longest audio. Unintelligible
audio (a system that has not learnt yet) makes the decoder repeat itself up to
``max_new_tokens``, and with beam search that dominated the mini S2ST recipe's scoring
time; speech has a few tokens per second (the mini corpus's English references: 3.6 on
average, at most 5.2), so a cap well above that changes no transcript of real speech.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch

from espnet_csst.frontends.whisper import WHISPER_FS
from espnet_csst.scoring.asr import AbsASRJudge, normalize_for_asr, to_mono_at


BACKENDS = ("transformers", "ctranslate2")
CT2_COMPUTE_TYPES = ("float32", "int8", "int8_float32")


def source_fingerprint(src: Path) -> dict:
    """Size and modification time of the model's files: a conversion made from other files is stale."""
    return {f.name: [f.stat().st_size, f.stat().st_mtime_ns] for f in sorted(src.iterdir())
            if f.is_file() and f.suffix in (".safetensors", ".bin", ".json")}


def ctranslate2_model(hf_dir: Path, compute_type: str) -> Path:
    """The CTranslate2 conversion of a local transformers Whisper, made once beside it (atomically:
    converted into a temporary directory, then renamed) and reused while the model's files are the
    ones it was made from (``source.json``); a stale one is converted again."""
    from ctranslate2.converters import TransformersConverter

    src = Path(hf_dir).expanduser().resolve()
    # the weights' precision is the runtime's compute type: float32 keeps float32 (or float16) weights
    # as they are, int8 quantises them once at conversion
    quantization = "float32" if compute_type == "float32" else "int8"
    out = src.parent / f"{src.name}-ctranslate2-{quantization}"
    fingerprint = source_fingerprint(src)
    made_from = out / "source.json"
    if (out / "model.bin").is_file() and made_from.is_file() and json.loads(made_from.read_text()) == fingerprint:
        return out
    logging.info(f"converting {src} for CTranslate2 ({quantization}) -> {out}"
                 + (" (the model changed since the last conversion)" if out.exists() else " (once)"))
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=src.parent))
    except OSError as e:
        raise ValueError(f"cannot write the CTranslate2 conversion of {src} beside it ({e}); "
                         "copy the model to a writable directory or use --backend transformers") from None
    try:
        files = [f for f in ("tokenizer.json", "preprocessor_config.json") if (src / f).is_file()]
        TransformersConverter(str(src), copy_files=files).convert(str(tmp / "model"), quantization=quantization)
        (tmp / "model" / "source.json").write_text(json.dumps(fingerprint) + "\n")
        if out.exists():  # stale: set aside first, a directory is only renamed onto a missing name
            os.replace(out, tmp / "stale")
        try:
            os.replace(tmp / "model", out)
        except OSError:
            if not (out / "model.bin").is_file():  # else another process converted it first: use that
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


class WhisperASR(AbsASRJudge):
    """Waveforms -> Whisper transcripts in one language (``language`` None: an English-only model)."""

    fs = WHISPER_FS

    def __init__(self, model_name_or_path: str, language: Optional[str] = "en", beam_size: int = 1,
                 max_new_tokens: int = 128, device: str = "cpu", dtype: str = "float32",
                 trust_remote_code: bool = False, max_tokens_per_second: Optional[float] = None,
                 backend: str = "transformers"):
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend == "ctranslate2" and dtype not in CT2_COMPUTE_TYPES:
            raise ValueError(f"the ctranslate2 backend computes in {', '.join(CT2_COMPUTE_TYPES)}, got {dtype!r}")
        if backend == "transformers" and dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"the transformers backend computes in float32, bfloat16 or float16, got {dtype!r}")
        local = Path(str(model_name_or_path)).expanduser().exists()
        if backend == "ctranslate2" and not local:
            raise FileNotFoundError(f"{model_name_or_path}: the ctranslate2 backend converts a local transformers "
                                    "Whisper directory (prepare_pretrained makes one)")
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
        self.backend, self.dtype = backend, dtype
        if backend == "transformers":
            self.model = WhisperForConditionalGeneration.from_pretrained(
                model_name_or_path, local_files_only=local, trust_remote_code=trust_remote_code,
                dtype=getattr(torch, dtype)).to(device).eval()
            config, gen = self.model.config, self.model.generation_config
        else:
            import ctranslate2
            from transformers import GenerationConfig, WhisperConfig

            config = WhisperConfig.from_pretrained(model_name_or_path)
            gen = GenerationConfig.from_pretrained(model_name_or_path)
            self.model = ctranslate2.models.Whisper(
                str(ctranslate2_model(Path(model_name_or_path), dtype)), device=device, compute_type=dtype,
                intra_threads=torch.get_num_threads())
        self.device, self.beam_size = device, int(beam_size)
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
        self.max_new_tokens = max(1, min(int(max_new_tokens), config.max_target_positions - 4))
        tokenizer = self.processor.tokenizer
        self.prompt = tokenizer.convert_tokens_to_ids(
            ["<|startoftranscript|>"] + ([f"<|{self.language}|>", "<|transcribe|>"] if self.multilingual else [])
            + ["<|notimestamps|>"])

    def describe(self) -> str:
        search = "greedy" if self.beam_size == 1 else f"beam {self.beam_size}"
        if self.max_tokens_per_second is not None:
            search += f", at most {self.max_tokens_per_second:g} tokens/s"
        lang = f"{self.language}, " if self.language else ""
        runtime = f"{self.model.dtype}" if self.backend == "transformers" else f"CTranslate2 {self.dtype}"
        return f"Whisper {self.name} ({lang}transcribe, {search}, 30 s window, {runtime}) on {self.device}"

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
        limit = self.answer_limit(max(len(xs[i]) for i in ok) / WHISPER_FS)
        feats = self.processor.feature_extractor(
            [xs[i] for i in ok], sampling_rate=WHISPER_FS, return_tensors="pt").input_features
        if self.backend == "transformers":
            kwargs = dict(num_beams=self.beam_size, do_sample=False, max_new_tokens=limit)
            if self.multilingual:
                kwargs.update(language=self.language, task="transcribe")
            ids = self.model.generate(feats.to(self.device, self.model.dtype), **kwargs)
        else:
            ids = self.generate_ctranslate2(feats, limit)
        texts = self.processor.tokenizer.batch_decode(ids, skip_special_tokens=True)
        for i, text in zip(ok, texts):
            out[i] = normalize_for_asr(text)
        return out

    def generate_ctranslate2(self, feats: torch.Tensor, limit: int) -> List[List[int]]:
        """CTranslate2's search: the answer's tokens (at most ``limit``) for each log-mel window."""
        import ctranslate2

        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(feats.numpy(), dtype=np.float32))
        # CTranslate2 lets an answer have min(max_length / 2, max_length - start) tokens (OpenAI's decoder
        # samples at most half its context), where start is the prompt less its last token: this
        # max_length allows exactly `limit`, as max_new_tokens does in transformers
        start = len(self.prompt) - 1
        results = self.model.generate(
            features, [self.prompt] * feats.shape[0], beam_size=self.beam_size,
            max_length=max(2 * limit, limit + start), suppress_blank=True, suppress_tokens=[-1])
        return [r.sequences_ids[0] for r in results]
