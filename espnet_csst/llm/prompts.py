"""Prompt templates: the instruction that tells the LLM which task to do.

One model serves every training stage (ASR, monolingual ST, code-switched ST),
so each utterance carries a task spec ``"<task> <src_lang> <tgt_lang>"`` (the
``task`` file of a stage's data dir) that is rendered into words here. Plain
words rather than reserved symbols, so that a pretrained LLM understands them
as they are and a from-scratch one learns them from its pre-training text.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "zh": "Chinese", "cs": "mixed",
    "de": "German", "fr": "French", "ja": "Japanese", "ar": "Arabic",
    "hi": "Hindi", "ta": "Tamil", "ms": "Malay", "ca": "Catalan",
}

DEFAULT_TEMPLATES = {
    "prefix": "Speech:",
    "asr": "Transcribe the {src} speech:",
    "st": "Translate the {src} speech into {tgt}:",
    "s2st": "Translate the {src} speech into {tgt} speech:",
}

TASKS = ("asr", "st", "s2st")
TEXT_TASKS = ("asr", "st")  # the speech-to-text tasks of CSSTTask


class PromptTemplates:
    def __init__(self, templates: Optional[Dict[str, str]] = None,
                 language_names: Optional[Dict[str, str]] = None):
        self.templates = dict(DEFAULT_TEMPLATES, **(templates or {}))
        self.language_names = dict(LANGUAGE_NAMES, **(language_names or {}))
        unknown = set(self.templates) - {"prefix", *TASKS}
        if unknown:
            raise ValueError(f"unknown prompt template keys {sorted(unknown)}; allowed: prefix, {', '.join(TASKS)}")

    def language(self, code: str) -> str:
        return self.language_names.get(code, code)

    def render(self, task_spec: str) -> Tuple[str, str]:
        """``"st es en"`` -> (prefix, instruction) strings."""
        task, src, tgt = parse_task_spec(task_spec)
        instruction = self.templates[task].format(src=self.language(src), tgt=self.language(tgt))
        return self.templates["prefix"], instruction

    def all_strings(self, languages, tasks=TEXT_TASKS) -> list:
        """Every prompt string of ``tasks`` the templates can produce (sentencepiece training text)."""
        out = [self.templates["prefix"]]
        for task in tasks:
            for s in languages:
                for t in languages:
                    out.append(self.render(f"{task} {s} {t}")[1])
        return out


def parse_task_spec(spec: str) -> Tuple[str, str, str]:
    parts = spec.split()
    if len(parts) != 3 or parts[0] not in TASKS:
        raise ValueError(
            f"task spec {spec!r} must be '<task> <src_lang> <tgt_lang>' with task in {TASKS}, "
            "e.g. 'st es en' or 'asr en en'"
        )
    return parts[0], parts[1], parts[2]
