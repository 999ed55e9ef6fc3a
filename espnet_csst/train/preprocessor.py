"""Per-utterance preprocessing for CSST: text to LLM ids and the task prompt.

Each example arrives from ESPnet's dataset with ``speech`` (waveform),
``text`` (target), optionally ``src_text`` (source transcript) and ``task``
(``"st es en"``). The task spec becomes two id arrays, ``prefix`` (before the
speech) and ``instruction`` (after it), so that every stage and every
replayed stage's data can share one batch.
"""

from __future__ import annotations

import logging
from typing import Dict, Optional, Union

import numpy as np

from espnet2.train.preprocessor import AbsPreprocessor

from espnet_csst.llm.prompts import PromptTemplates
from espnet_csst.llm.tokens import TextCodec


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
    ):
        super().__init__(train)
        self.codec = TextCodec(token_type, token_list, bpemodel)
        # the source transcript (CTC target) may have its own smaller sentencepiece, like
        # ESPnet ST's --src_token_list; built on first use, since decoding never needs it
        self._src_spec = (src_token_list, src_bpemodel) if src_token_list is not None else None
        self._src_codec: Optional[TextCodec] = None
        self.prompts = PromptTemplates(prompt_templates)
        self.text_names = tuple(text_names)
        self.default_task = default_task
        self._prompt_cache: Dict[str, tuple] = {}

    def prompt_ids(self, task_spec: str):
        if task_spec not in self._prompt_cache:
            prefix, instruction = self.prompts.render(task_spec)
            self._prompt_cache[task_spec] = (
                np.array([self.codec.bos_id] + self.codec.encode(prefix), dtype=np.int64),
                np.array(self.codec.encode(instruction), dtype=np.int64),
            )
        return self._prompt_cache[task_spec]

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
        for name in self.text_names:
            if name in data and isinstance(data[name], str):
                text = data[name].strip()
                if name == "text" and not text:
                    logging.warning(f"utterance {uid}: empty {name}")
                data[name] = np.array(self.codec_for(name).encode(text), dtype=np.int64)
        if "speech" in data and isinstance(data["speech"], np.ndarray) and data["speech"].ndim > 1:
            # (T, C) multi-channel audio: the mini and real recipes are mono; average channels
            data["speech"] = data["speech"].mean(axis=1)
        if "speech" in data:
            data["speech"] = data["speech"].astype(np.float32)
        return data
