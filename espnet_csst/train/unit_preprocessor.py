"""Per-utterance preprocessing for the S2ST unit LM.

Each example arrives from ESPnet's dataset with ``src_units`` and
``tgt_units`` (``text_int``: unit indices), optionally ``src_word_frames`` /
``tgt_word_frames`` (``text``: ``"s e word s e word ..."``, half-open unit
spans, from ``dump_units --out_word_frames``) and ``task`` (``"s2st es en"``).
The task becomes the ``prefix`` and ``instruction`` id arrays as in CSST;
each side's word spans become three arrays the collate function can pad:

    <side>_spans      (W, 2)  the word spans
    <side>_words      (sum)   every word's text tokens, concatenated
    <side>_word_lens  (W,)    how many tokens each word has

The model interleaves from these (it knows the training step; the data
loader's workers do not).
"""

from __future__ import annotations

from typing import Dict, Optional, Union

import numpy as np

from espnet2.train.preprocessor import AbsPreprocessor

from espnet_csst.llm.prompts import PromptTemplates
from espnet_csst.llm.tokens import TextCodec
from espnet_csst.units.interleave import parse_word_frames

SIDES = ("src", "tgt")


class UnitLMPreprocessor(AbsPreprocessor):
    def __init__(
        self,
        train: bool,
        token_type: str,
        token_list,
        bpemodel: Optional[str] = None,
        n_units: int = 0,
        n_src_units: int = 0,
        prompt_templates: Optional[Dict[str, str]] = None,
        default_task: Optional[str] = None,
    ):
        super().__init__(train)
        self.codec = TextCodec(token_type, token_list, bpemodel)
        self.n_units = n_units
        # units per side: the source has its own k-means when n_src_units > 0
        self.side_units = {"src": n_src_units or n_units, "tgt": n_units}
        self.prompts = PromptTemplates(prompt_templates)
        self.default_task = default_task
        self._prompt_cache: Dict[str, tuple] = {}
        self._word_cache: Dict[str, list] = {}

    def prompt_ids(self, task_spec: str):
        if task_spec not in self._prompt_cache:
            prefix, instruction = self.prompts.render(task_spec)
            self._prompt_cache[task_spec] = (
                np.array([self.codec.bos_id] + self.codec.encode(prefix), dtype=np.int64),
                np.array(self.codec.encode(instruction), dtype=np.int64),
            )
        return self._prompt_cache[task_spec]

    def word_tokens(self, word: str) -> list:
        # a word alone tokenises as it does inside a sentence: sentencepiece splits at spaces
        if word not in self._word_cache:
            self._word_cache[word] = self.codec.encode(word)
        return self._word_cache[word]

    def check_units(self, uid: str, name: str, units: np.ndarray) -> np.ndarray:
        units = np.asarray(units, dtype=np.int64).reshape(-1)
        side = name.split("_")[0]
        n = self.side_units[side]
        if units.size and (units.min() < 0 or units.max() >= n):
            option = "n_src_units" if side == "src" and n != self.n_units else "n_units"
            raise ValueError(f"utterance {uid}: {name} has unit {int(units.max())} or {int(units.min())} "
                             f"outside 0..{n - 1}; the units were dumped with another k-means "
                             f"model than the one this model was configured for ({option})")
        return units

    def word_arrays(self, uid: str, side: str, line: str, n_units: int) -> Dict[str, np.ndarray]:
        spans, words = parse_word_frames(line, n_units, uid)
        tokens = [self.word_tokens(w) for w in words]
        return {
            f"{side}_spans": np.array(spans, dtype=np.int64).reshape(-1, 2),
            f"{side}_words": np.array([t for ts in tokens for t in ts], dtype=np.int64),
            f"{side}_word_lens": np.array([len(ts) for ts in tokens], dtype=np.int64),
        }

    def __call__(self, uid: str, data: Dict[str, Union[str, np.ndarray]]) -> Dict[str, np.ndarray]:
        data = dict(data)
        task = data.pop("task", None) or self.default_task
        if task is None:
            raise ValueError(f"utterance {uid}: no task prompt; give the data dir a 'task' file "
                             "('s2st es en') or the task --default_task")
        try:
            data["prefix"], data["instruction"] = self.prompt_ids(str(task).strip())
        except ValueError as e:
            raise ValueError(f"utterance {uid}: bad task spec: {e}") from e
        for side in SIDES:
            name = f"{side}_units"
            if name in data:
                data[name] = self.check_units(uid, name, data[name])
            frames = data.pop(f"{side}_word_frames", None)
            if frames is not None and name in data:
                data.update(self.word_arrays(uid, side, str(frames), len(data[name])))
        return data
