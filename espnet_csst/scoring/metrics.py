"""Scores of hypothesis text against reference text: sacrebleu BLEU/chrF (ST) and WER/CER (ASR).

Hypothesis and reference are Kaldi text files (``uttid words...``) matched by
id. A reference utterance with no hypothesis is scored as an empty hypothesis
(and counted as ``n_missing``); a hypothesis id absent from the reference is
an error.

ST is scored with sacrebleu BLEU and chrF twice, as ESPnet's st.sh does:
detokenised and case-sensitive (``BLEU``, ``chrF``), and lower-cased with
punctuation removed (``BLEU_lc.rm``, ``chrF_lc.rm``). ASR is scored as
``WER`` and ``CER`` (percent) on lower-cased, punctuation-free text.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import editdistance
from sacrebleu.metrics import BLEU, CHRF

from espnet_csst.data.datadir import read_map

MAX_IDS_SHOWN = 5
#: The section of RESULTS.md a row goes to when it names no other table.
MAIN_TABLE = "Scores"


class ResultsError(ValueError):
    """A results or timings file cannot be used; the message names the file."""


@dataclass
class Score:
    metric: str
    value: float
    signature: str
    #: Edit-distance metrics only: summed errors and summed reference length.
    n_errors: Optional[int] = None
    n_ref: Optional[int] = None


# --------------------------------------------------------------------------- input


def read_text_file(path: Path) -> Dict[str, str]:
    """``{utt: text}``; an id-only line is an empty text (a decoder may output nothing)."""
    return read_map(path)


def match_hyp_to_ref(hyp: Dict[str, str], ref: Dict[str, str], hyp_path: Path,
                     ref_path: Path) -> Tuple[List[str], List[str], List[str]]:
    """Align hypotheses to the reference order; return (hyps, refs, missing ids).

    A missing hypothesis is scored as empty rather than dropped: dropping it
    would silently raise the score of a system that fails on hard utterances.
    """
    if not ref:
        raise ResultsError(f"{ref_path}: reference file is empty; nothing to score against")
    extra = [utt for utt in hyp if utt not in ref]
    if extra:
        raise ResultsError(
            f"{hyp_path}: hypothesis id {extra[0]!r} is not in the reference {ref_path} "
            f"({len(extra)} such ids); hyp and ref must come from the same test set")
    missing = [utt for utt in ref if utt not in hyp]
    if missing:
        logging.warning("%s: %d of %d reference utterances have no hypothesis and are scored as "
                        "empty (first: %s)", hyp_path, len(missing), len(ref),
                        ", ".join(missing[:MAX_IDS_SHOWN]))
    ids = list(ref)
    return [hyp.get(utt, "") for utt in ids], [ref[utt] for utt in ids], missing


# ------------------------------------------------------------------------- scoring

_SPACES = re.compile(r"\s+")


def remove_punctuation(text: str) -> str:
    """Drop every Unicode punctuation character (category P*) and collapse whitespace.

    Unicode categories rather than ``string.punctuation`` because the test
    sets are multilingual (¿, ¡, «», 。 and the like must go too).
    """
    kept = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return _SPACES.sub(" ", kept).strip()


def normalise_lc_rm(text: str) -> str:
    """The ``lc.rm`` condition: lower-cased, punctuation removed."""
    return remove_punctuation(text.lower())


def sacrebleu_score(metric, name: str, hyps: List[str], refs: List[str],
                    signature_suffix: str = "") -> Score:
    result = metric.corpus_score(hyps, [refs])
    # The signature is only known after scoring (it records the number of references).
    return Score(name, round(result.score, 2), str(metric.get_signature()) + signature_suffix)


def score_st(hyps: List[str], refs: List[str]) -> List[Score]:
    """BLEU and chrF, detokenised cased and lower-cased without punctuation (as st.sh)."""
    lc_hyps = [normalise_lc_rm(h) for h in hyps]
    lc_refs = [normalise_lc_rm(r) for r in refs]
    # lowercase=True is a no-op on normalised text but makes the signature say case:lc.
    rm_suffix = "|punct:rm-unicode-P"
    return [
        sacrebleu_score(BLEU(), "BLEU", hyps, refs),
        sacrebleu_score(CHRF(), "chrF", hyps, refs),
        sacrebleu_score(BLEU(lowercase=True), "BLEU_lc.rm", lc_hyps, lc_refs, rm_suffix),
        sacrebleu_score(CHRF(lowercase=True), "chrF_lc.rm", lc_hyps, lc_refs, rm_suffix),
    ]


def error_rate(name: str, hyp_units: List[Sequence[str]], ref_units: List[Sequence[str]],
               signature: str, ref_path: Path) -> Score:
    """Summed edit distance over summed reference length, in percent (corpus-level)."""
    errors = sum(editdistance.eval(h, r) for h, r in zip(hyp_units, ref_units))
    ref_len = sum(len(r) for r in ref_units)
    if ref_len == 0:
        raise ResultsError(f"{ref_path}: every reference is empty after normalisation; "
                           f"{name} is undefined")
    return Score(name, round(100.0 * errors / ref_len, 2), signature, errors, ref_len)


def score_asr(hyps: List[str], refs: List[str], ref_path: Path) -> List[Score]:
    """WER on words and CER on characters (spaces included, as ESPnet's <space> token)."""
    lc_hyps = [normalise_lc_rm(h) for h in hyps]
    lc_refs = [normalise_lc_rm(r) for r in refs]
    common = f"case:lc|punct:rm-unicode-P|editdistance:{importlib.metadata.version('editdistance')}"
    return [
        error_rate("WER", [h.split() for h in lc_hyps], [r.split() for r in lc_refs],
                   f"unit:word|{common}", ref_path),
        error_rate("CER", lc_hyps, lc_refs, f"unit:char(space counted)|{common}", ref_path),
    ]


def asr_scores(hyp_path: Path, ref_path: Path) -> Dict[str, float]:
    """ASR-BLEU, chrF (lower-cased, no punctuation) and WER of an ASR judge's transcripts.

    ``hyp_path`` holds the judge's transcripts of synthesised speech, ``ref_path`` the reference
    translation; an utterance the judge did not transcribe scores as empty and counts as missing.
    """
    hyp, ref = read_text_file(hyp_path), read_text_file(ref_path)
    missing = [u for u in ref if u not in hyp]
    hyps, refs = [hyp.get(u, "") for u in ref], list(ref.values())
    st = {s.metric: s for s in score_st(hyps, refs)}
    wer = {s.metric: s for s in score_asr(hyps, refs, ref_path)}
    return {"ASR_BLEU": st["BLEU_lc.rm"].value, "ASR_chrF": st["chrF_lc.rm"].value,
            "WER": wer["WER"].value, "n": len(ref), "missing": len(missing),
            "signature": st["BLEU_lc.rm"].signature}


def unit_accuracy(path: Path) -> Optional[float]:
    """Teacher-forced next-unit accuracy (percent) over a ``unit_acc`` file of
    ``<utt> <correct> <total>`` lines (``unit_lm_inference``); None when the file is absent."""
    if not path.is_file():
        return None
    counts = []
    for utt, value in read_text_file(path).items():
        try:
            hit, total = map(int, value.split())
        except ValueError:
            raise ResultsError(f"{path}: utterance {utt}: expected '<utt> <correct> <total>', got {value!r}") from None
        counts.append((hit, total))
    return round(100.0 * sum(h for h, _ in counts) / max(1, sum(t for _, t in counts)), 2)
