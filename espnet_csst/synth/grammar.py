"""Parallel constituent trees shared by every language pair of the mini corpus.

A language pair module (``espnet_csst.synth.pairs.<pair>``) generates one
*parallel* sentence at a time: a tree whose leaves carry the surface form in
both languages (agreement and conjugation already resolved by the grammar) and
whose inner nodes may order their children differently per language (e.g.
Spanish noun-adjective vs English adjective-noun, Mandarin time phrase before
the verb). Everything that is language-independent lives here:

* rendering a tree in one language (monolingual transcripts and translations);
* code-switching at constituent boundaries: the sentence is realised in a
  matrix language and one or more constituents (NP, VP, PP, CLAUSE, ...) are
  realised in the other language, in the position the matrix language gives
  them (the matrix-language-frame view of code-switching);
* the checks every sentence builder applies to a draw (length range, whether
  it can code-switch) and the deterministic de-duplication of lemma lists;
* the code-switching statistics the corpus summary reports.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

#: Constituent labels at whose boundaries a switch may happen.
SWITCHABLE_LABELS = ("NP", "VP", "PP", "CLAUSE", "TIME")


@dataclass(frozen=True)
class Word:
    """One surface word with its language tag."""

    text: str
    lang: str


@dataclass
class Node:
    """A constituent of a parallel sentence.

    A leaf has ``words``: its surface words per language (a tuple, possibly
    empty when one language drops the word, e.g. a Spanish pro-drop subject or
    an English-only auxiliary). An inner node has ``children`` and optionally
    ``order``: per language, the permutation of ``children`` indices in which
    that language says them (default: the listed order).
    """

    label: str
    words: Optional[Dict[str, Tuple[str, ...]]] = None
    children: List["Node"] = field(default_factory=list)
    order: Optional[Dict[str, Tuple[int, ...]]] = None

    def __post_init__(self):
        is_leaf, has_children = self.words is not None, bool(self.children)
        if is_leaf == has_children:
            raise ValueError(
                f"Node {self.label!r} must have either words (leaf) or children"
            )

    def ordered_children(self, lang: str) -> List["Node"]:
        if self.order is None or lang not in self.order:
            return list(self.children)
        return [self.children[i] for i in self.order[lang]]

    def iter_nodes(self):
        yield self
        for child in self.children:
            yield from child.iter_nodes()


def leaf(label: str, **words_per_lang: str) -> Node:
    """A leaf from space-separated strings, e.g. ``leaf("N", es="perro", en="dog")``."""
    return Node(label, words={k: tuple(v.split()) for k, v in words_per_lang.items()})


def render(node: Node, lang: str) -> List[Word]:
    """The whole subtree in one language."""
    if node.words is not None:
        if lang not in node.words:
            raise KeyError(f"leaf {node.label!r} has no {lang!r} form: {node.words}")
        return [Word(w, lang) for w in node.words[lang]]
    out: List[Word] = []
    for child in node.ordered_children(lang):
        out.extend(render(child, lang))
    return out


def _render_mixed(node: Node, matrix: str, other: str, switched: set) -> List[Word]:
    if id(node) in switched:
        return render(node, other)
    if node.words is not None:
        return render(node, matrix)
    out: List[Word] = []
    for child in node.ordered_children(matrix):
        out.extend(_render_mixed(child, matrix, other, switched))
    return out


def switch_candidates(root: Node, lang_a: str, lang_b: str) -> List[Node]:
    """Constituents that may be realised in the other language.

    The root itself is excluded (switching it gives a monolingual sentence),
    and so are constituents that are empty in either language.
    """
    return [
        n
        for n in root.iter_nodes()
        if n is not root
        and n.label in SWITCHABLE_LABELS
        and render(n, lang_a)
        and render(n, lang_b)
    ]


def code_switch(
    root: Node,
    matrix: str,
    other: str,
    rng: random.Random,
    max_switches: int = 2,
) -> Optional[List[Word]]:
    """Realise ``root`` in ``matrix`` with 1..max_switches constituents in ``other``.

    Returns None when the sentence offers no constituent whose switch gives a
    genuinely mixed utterance (the caller then draws another sentence).
    """
    candidates = switch_candidates(root, matrix, other)
    rng.shuffle(candidates)
    n_switch = rng.randint(1, max_switches)

    def mixed(chosen: List[Node]) -> Optional[List[Word]]:
        words = _render_mixed(root, matrix, other, {id(c) for c in chosen})
        n_other = sum(w.lang == other for w in words)
        return words if _acceptable_mix(n_other, len(words)) else None

    for first in candidates:
        chosen = [first]
        words = mixed(chosen)
        if words is None:
            continue
        for cand in candidates:
            if len(chosen) >= n_switch:
                break
            if all(not _overlaps(cand, c) for c in chosen):
                more = mixed(chosen + [cand])
                if more is not None:
                    chosen.append(cand)
                    words = more
        return words
    return None


def _acceptable_mix(n_other: int, n_words: int) -> bool:
    """The acceptance rule of :func:`code_switch` (and :func:`can_switch`).

    A genuinely mixed utterance (at least one word in the other language, so
    at least one switch point) in which the matrix language is still the
    majority (the other language has strictly less than half the words).
    """
    return 0 < n_other and n_other * 2 < n_words


def _overlaps(a: Node, b: Node) -> bool:
    return any(n is b for n in a.iter_nodes()) or any(n is a for n in b.iter_nodes())


def _count_switch_points(words: Sequence[Word]) -> int:
    return sum(1 for a, b in zip(words, words[1:]) if a.lang != b.lang)


# --------------------------------------------------------------------------
# Helpers for the sentence builders of the pair modules
# --------------------------------------------------------------------------
def lengths_within(root: Node, langs: Sequence[str], low: int = 3, high: int = 20) -> bool:
    """Whether ``root`` has ``low``..``high`` words (inclusive) in each of ``langs``."""
    return all(low <= len(render(root, lang)) <= high for lang in langs)


def can_switch(root: Node, matrix: str, other: str) -> bool:
    """Whether :func:`code_switch` succeeds on ``root`` (returns a mixed utterance).

    :func:`code_switch` returns None exactly when no single switch candidate
    gives an utterance it accepts (extra switches are only tried after a first
    one succeeded), so this checks each candidate alone, with the same rule,
    counting words instead of rendering the mixed sentence; unlike
    :func:`code_switch` it needs no random generator. Very short sentences
    whose only constituents are most of the sentence ("comí una manzana") fail.
    """
    n_matrix = len(render(root, matrix))
    for cand in switch_candidates(root, matrix, other):
        n_other = len(render(cand, other))
        n_words = n_matrix - len(render(cand, matrix)) + n_other
        if _acceptable_mix(n_other, n_words):
            return True
    return False


def unique_in_order(words: Iterable[str]) -> List[str]:
    """Distinct non-empty strings in first-seen order (deterministic, unlike a set).

    Empty strings are dropped: lexicon tables use "" for a word one language
    does not have.
    """
    return list(dict.fromkeys(w for w in words if w))


# --------------------------------------------------------------------------
# Code-switching statistics
# --------------------------------------------------------------------------
def code_mixing_index(words: Sequence[Word]) -> float:
    """Utterance-level Code-Mixing Index (Das and Gambäck, 2014), in [0, 100).

    CMI = 100 * (1 - max_lang_count / (n - u)), with u the number of
    language-independent tokens (tag ``"other"``); 0 for a monolingual
    utterance.
    """
    tagged = [w.lang for w in words if w.lang != "other"]
    if not tagged:
        return 0.0
    counts: Dict[str, int] = {}
    for lang in tagged:
        counts[lang] = counts.get(lang, 0) + 1
    return 100.0 * (1.0 - max(counts.values()) / len(tagged))


def switch_points(words: Sequence[Word]) -> int:
    """Number of adjacent word pairs whose languages differ."""
    return _count_switch_points([w for w in words if w.lang != "other"])


def language_segments(words: Sequence[Word]) -> List[Tuple[str, List[int]]]:
    """Maximal same-language runs: ``[(lang, [word indices]), ...]``."""
    segments: List[Tuple[str, List[int]]] = []
    for i, w in enumerate(words):
        if segments and segments[-1][0] == w.lang:
            segments[-1][1].append(i)
        else:
            segments.append((w.lang, [i]))
    return segments


# --------------------------------------------------------------------------
# The language-pair interface
# --------------------------------------------------------------------------
class LanguagePair(ABC):
    """One pluggable grammar: a source language paired with English.

    Subclasses set the class attributes and implement :meth:`sentence`.
    """

    #: registry name, e.g. "es-en"
    name: str
    #: the non-English language (matrix language of most code-switching)
    src_lang: str
    #: the translation target language (English for the shipped pairs)
    tgt_lang: str = "en"
    #: espeak-ng voice name per language, e.g. {"es": "es", "en": "en-us"}
    voices: Dict[str, str]

    @property
    def languages(self) -> Tuple[str, str]:
        return (self.src_lang, self.tgt_lang)

    @abstractmethod
    def sentence(self, rng: random.Random) -> Node:
        """A random parallel sentence tree (root label "S")."""

    @abstractmethod
    def lemmas(self) -> Dict[str, List[str]]:
        """The vocabulary as lemmas per language: ``{"es": [...], "en": [...]}``."""

    def transcript(self, words: Sequence[Word]) -> str:
        """Source-side transcript: the words joined by spaces, as spoken."""
        return " ".join(w.text for w in words)

    def translation(self, words: Sequence[Word]) -> str:
        """Written-form translation: first letter capitalised, final period."""
        text = " ".join(w.text for w in words)
        return text[:1].upper() + text[1:] + "."


_PAIRS: Dict[str, str] = {
    "es-en": "espnet_csst.synth.pairs.es_en:SpanishEnglish",
    "zh-en": "espnet_csst.synth.pairs.zh_en:MandarinEnglish",
}


def available_pairs() -> List[str]:
    return sorted(_PAIRS)


def get_pair(name: str) -> LanguagePair:
    """Instantiate a registered language pair by name (e.g. ``"es-en"``)."""
    if name not in _PAIRS:
        raise ValueError(
            f"unknown language pair {name!r}; available: {', '.join(available_pairs())}"
        )
    import importlib

    module_name, cls_name = _PAIRS[name].split(":")
    return getattr(importlib.import_module(module_name), cls_name)()
