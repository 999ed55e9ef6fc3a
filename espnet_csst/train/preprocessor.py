"""Per-utterance preprocessing for CSST: text to LLM ids and the task prompt.

Each example arrives from ESPnet's dataset with ``speech`` (waveform),
``text`` (target), optionally ``src_text`` (source transcript) and ``task``
(``"st es en"``). The task spec becomes two id arrays, ``prefix`` (before the
speech) and ``instruction`` (after it), so that every stage and every
replayed stage's data can share one batch. With ``languages`` (the MoE
projector's groups), ``lang_ali`` (see make_task_dir) becomes ``lang_labels``:
the group index of every 10 ms of audio, -1 where no language is known; the
model maps them onto its projector tokens. With ``src_llm_ids`` (the OT
alignment loss), ``src_text`` is also encoded with the LLM's codec as
``src_llm``.
"""

from __future__ import annotations

import logging
from typing import Dict, Optional, Sequence, Union

import numpy as np

from espnet2.train.preprocessor import AbsPreprocessor

from espnet_csst.llm.prompts import PromptTemplates
from espnet_csst.llm.tokens import TextCodec


FRAMES_PER_SECOND = 100  # resolution of lang_labels


class CSSTPreprocessor(AbsPreprocessor):
    def __init__(
        self,
        train: bool,
        token_type: str,
        token_list,
        bpemodel: Optional[str] = None,
        prompt_templates: Optional[Dict[str, str]] = None,
        text_names=("text", "src_text"),
        default_task: Optional[str] = None,
        src_token_list=None,
        src_bpemodel: Optional[str] = None,
        languages: Optional[Sequence[str]] = None,
        src_llm_ids: bool = False,
        speech_frames: bool = False,
    ):
        super().__init__(train)
        # (T, D) speech is cached frontend frames (frontend: whisper_hf), not (T, C) audio channels
        self.speech_frames = speech_frames
        self.languages = list(languages) if languages else None
        self.codec = TextCodec(token_type, token_list, bpemodel)
        # the source transcript (CTC target) may have its own smaller sentencepiece, like
        # ESPnet ST's --src_token_list; built on first use, since decoding never needs it
        self._src_spec = (src_token_list, src_bpemodel) if src_token_list is not None else None
        self._src_codec: Optional[TextCodec] = None
        self.prompts = PromptTemplates(prompt_templates)
        self.text_names = tuple(text_names)
        self.default_task = default_task
        self._prompt_cache: Dict[str, tuple] = {}
        # the OT alignment loss runs the source transcript through the LLM: it needs the
        # transcript in the LLM's tokens too (src_llm), whatever src_text's own token list
        self.src_llm_ids = src_llm_ids

    def prompt_ids(self, task_spec: str):
        if task_spec not in self._prompt_cache:
            prefix, instruction = self.prompts.render(task_spec)
            self._prompt_cache[task_spec] = (
                np.array([self.codec.bos_id] + self.codec.encode(prefix), dtype=np.int64),
                np.array(self.codec.encode(instruction), dtype=np.int64),
            )
        return self._prompt_cache[task_spec]

    def lang_labels(self, uid: str, ali: str) -> np.ndarray:
        """``"<dur> [<lang> <start> <end>]..."`` -> group index per 10 ms frame (-1: unknown).

        Languages outside ``languages`` (e.g. ``cs`` for a whole mixed utterance)
        stay unknown, as does the time between aligned words.
        """
        fields = ali.split()
        try:
            if not fields or (len(fields) - 1) % 3:
                raise ValueError("expected '<duration> [<lang> <start> <end>]...'")
            frames = np.full(int(np.ceil(float(fields[0]) * FRAMES_PER_SECOND)), -1, dtype=np.int64)
            for k in range(1, len(fields), 3):
                lang, start, end = fields[k], float(fields[k + 1]), float(fields[k + 2])
                if lang in self.languages:
                    a = int(round(start * FRAMES_PER_SECOND))
                    frames[a : max(a + 1, int(round(end * FRAMES_PER_SECOND)))] = self.languages.index(lang)
        except ValueError as e:
            raise ValueError(f"utterance {uid}: bad lang_ali line {ali!r}: {e}; rebuild the stage's "
                             "data dir with espnet_csst.bin.make_task_dir") from None
        return frames

    def codec_for(self, name: str) -> TextCodec:
        if name != "src_text" or self._src_spec is None:
            return self.codec
        if self._src_codec is None:
            self._src_codec = TextCodec("bpe", *self._src_spec)
        return self._src_codec

    def __call__(self, uid: str, data: Dict[str, Union[str, np.ndarray]]) -> Dict[str, np.ndarray]:
        data = dict(data)
        task = data.pop("task", None) or self.default_task
        if task is not None:
            try:
                data["prefix"], data["instruction"] = self.prompt_ids(str(task).strip())
            except ValueError as e:
                raise ValueError(f"utterance {uid}: bad task spec in the 'task' file: {e}") from e
        if "lang_ali" in data:
            ali = data.pop("lang_ali")
            if self.languages is not None:
                data["lang_labels"] = self.lang_labels(uid, str(ali))
        if "replay" in data:  # "1": the previous stage's utterance (transition loss), "0": this stage's
            flag = str(data["replay"]).strip()
            if flag not in ("0", "1"):
                raise ValueError(f"utterance {uid}: the replay file must say 0 or 1, got {flag!r}")
            data["replay"] = np.array([int(flag)], dtype=np.int64)
        if self.src_llm_ids and isinstance(data.get("src_text"), str):
            data["src_llm"] = np.array(self.codec.encode(data["src_text"].strip()), dtype=np.int64)
        for name in self.text_names:
            if name in data and isinstance(data[name], str):
                text = data[name].strip()
                if name == "text" and not text:
                    logging.warning(f"utterance {uid}: empty {name}")
                data[name] = np.array(self.codec_for(name).encode(text), dtype=np.int64)
        if "speech" in data and isinstance(data["speech"], np.ndarray) and data["speech"].ndim > 1 and not (
                self.speech_frames and data["speech"].shape[1] > 1):
            # (T, C) multi-channel audio: the mini and real recipes are mono; average channels
            data["speech"] = data["speech"].mean(axis=1)
        if "speech" in data:
            data["speech"] = data["speech"].astype(np.float32)
        return data
