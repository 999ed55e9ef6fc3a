"""Kaldi-style data directories as every espnet_csst recipe uses them.

A data directory holds one line per utterance (or speaker) in each file::

    wav.scp            <utt|rec> <path or command |>     (also wav.scp.<lang> for S2ST)
    segments           <utt> <rec> <start> <end>         (optional)
    utt2spk, spk2utt   speaker maps (spk2utt is the inverse of utt2spk)
    text.<lang>        transcript (text.es, text.en, text.cs for mixed) or translation
    utt2lang           utterance language (``cs`` for code-switched)
    word_ali           <utt> <start> <end> <word> <lang>  per word, seconds (also word_ali.<lang>)
    utt2dur            <utt> <seconds>                    (also utt2dur.<lang>)

Keys are sorted in C (byte) order and unique, as Kaldi's ``sort`` with
``LC_ALL=C`` leaves them. This module reads and writes these files; the
invariants are checked in :mod:`espnet_csst.data.validate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from espnet_csst.utils.fileio import atomic_open

#: Language tag inside file names and utt2lang: ISO 639 code, or ``cs`` for mixed.
LANG_RE = re.compile(r"^[a-z]{2,3}$")
#: Utterance ids: no whitespace, no shell metacharacters (they travel through shell scripts).
UTT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class DataDirError(ValueError):
    """A data directory (or one of its files) breaks a Kaldi invariant.

    ``str(e)`` is the full message ``file:line: detail``; ``path``, ``lineno``
    and ``detail`` let a validator report the parts separately.
    """

    def __init__(self, detail: str, path=None, lineno: Optional[int] = None):
        where = f"{path}:{lineno}: " if lineno else (f"{path}: " if path else "")
        super().__init__(where + detail)
        self.path, self.lineno, self.detail = path, lineno, detail


@dataclass
class Line:
    key: str
    value: str
    lineno: int


def read_lines(path: Path) -> List[Line]:
    """Read ``<key> <value>`` lines, keeping line numbers for error messages."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataDirError("file not found", path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        lineno = raw[: e.start].count(b"\n") + 1
        raise DataDirError(
            f"not valid UTF-8 (byte {raw[e.start]:#04x}); "
            "re-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`", path, lineno
        ) from None
    out = []
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        key, _, value = line.strip().partition(" ")
        if "\t" in key:  # tab-separated is accepted as Kaldi does
            key, _, rest = key.partition("\t")
            value = (rest + " " + value).strip()
        out.append(Line(key, value.strip(), lineno))
    return out


def read_map(path: Path) -> Dict[str, str]:
    """``{key: value}``; raises on duplicate keys (naming file, line and key)."""
    result: Dict[str, str] = {}
    first_line: Dict[str, int] = {}
    for ln in read_lines(path):
        if ln.key in result:
            raise DataDirError(
                f"duplicate id {ln.key!r} (first on line {first_line[ln.key]}); run "
                f"`python -m espnet_csst.bin.fix_data_dir {Path(path).parent}` to drop duplicates",
                path, ln.lineno,
            )
        result[ln.key] = ln.value
        first_line[ln.key] = ln.lineno
    return result



def _c_order(key: str) -> bytes:
    return key.encode("utf-8")


def c_sorted(keys: Iterable[str]) -> List[str]:
    """Keys in the order ``LC_ALL=C sort`` gives them."""
    return sorted(keys, key=_c_order)


@dataclass(frozen=True)
class WordAli:
    start: float
    end: float
    word: str
    lang: str


def parse_word_ali(path: Path) -> Dict[str, List[Tuple[WordAli, int]]]:
    """``{utt: [(WordAli, lineno), ...]}`` from a ``word_ali`` file (lines of one utt contiguous)."""
    result: Dict[str, List[Tuple[WordAli, int]]] = {}
    last_key: Optional[str] = None
    for ln in read_lines(path):
        parts = ln.value.split()
        if len(parts) != 4:
            raise DataDirError(
                f"utterance {ln.key!r}: expected '<utt> <start> <end> <word> <lang>', "
                f"got {len(parts) + 1} fields", path, ln.lineno,
            )
        try:
            start, end = float(parts[0]), float(parts[1])
        except ValueError:
            raise DataDirError(
                f"utterance {ln.key!r}: start/end must be seconds, got {parts[0]!r} {parts[1]!r}",
                path, ln.lineno,
            ) from None
        if ln.key in result and ln.key != last_key:
            raise DataDirError(
                f"utterance {ln.key!r} appears in two separate blocks; the words of one "
                "utterance must be on consecutive lines (sort the file)", path, ln.lineno,
            )
        result.setdefault(ln.key, []).append((WordAli(start, end, parts[2], parts[3]), ln.lineno))
        last_key = ln.key
    return result


def write_spk2utt(path: Path, utt2spk: Dict[str, str]) -> None:
    """spk2utt, the inverse of ``utt2spk``: speakers and their utterances in C order."""
    spk2utt: Dict[str, List[str]] = {}
    for utt in c_sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    with atomic_open(path) as f:
        for spk in c_sorted(spk2utt):
            f.write(f"{spk} {' '.join(spk2utt[spk])}\n")


def format_word_ali(utt: str, words: Iterable[WordAli]) -> str:
    return "".join(f"{utt} {w.start:.3f} {w.end:.3f} {w.word} {w.lang}\n" for w in words)


@dataclass
class UttRecord:
    """Everything a data directory stores about one utterance, for writers."""

    utt_id: str
    spk: str
    texts: Dict[str, str]  # file suffix -> text, e.g. {"es": ..., "en": ...}
    wav: Dict[str, str] = field(default_factory=dict)  # stream suffix ("" or lang) -> path
    lang: Optional[str] = None
    durations: Dict[str, float] = field(default_factory=dict)  # stream suffix -> seconds
    word_ali: Dict[str, List[WordAli]] = field(default_factory=dict)  # stream suffix -> words
    segment: Optional[Tuple[str, float, float]] = None  # (recording id, start, end)


def _suffixed(name: str, suffix: str) -> str:
    return f"{name}.{suffix}" if suffix else name


def write_data_dir(out_dir: Path, records: Iterable[UttRecord]) -> int:
    """Write a complete, sorted data directory from utterance records.

    Every file is written atomically; spk2utt is derived from utt2spk.
    Returns the number of utterances written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = sorted(records, key=lambda r: _c_order(r.utt_id))
    for r in records:
        if not UTT_ID_RE.match(r.utt_id):
            raise DataDirError(
                f"utterance id {r.utt_id!r} contains characters other than "
                "letters, digits, '_', '.', '-'; rename it", out_dir,
            )

    files: Dict[str, List[str]] = {}

    def add(name: str, line: str) -> None:
        files.setdefault(name, []).append(line)

    spk2utt: Dict[str, List[str]] = {}
    for r in records:
        add("utt2spk", f"{r.utt_id} {r.spk}\n")
        spk2utt.setdefault(r.spk, []).append(r.utt_id)
        for suffix, text in r.texts.items():
            add(f"text.{suffix}", f"{r.utt_id} {text}\n")
        for suffix, path in r.wav.items():
            wav_key = r.segment[0] if r.segment else r.utt_id
            add(_suffixed("wav.scp", suffix), f"{wav_key} {path}\n")
        if r.segment:
            rec, start, end = r.segment
            add("segments", f"{r.utt_id} {rec} {start:.3f} {end:.3f}\n")
        if r.lang is not None:
            add("utt2lang", f"{r.utt_id} {r.lang}\n")
        for suffix, dur in r.durations.items():
            add(_suffixed("utt2dur", suffix), f"{r.utt_id} {dur:.3f}\n")
        for suffix, words in r.word_ali.items():
            add(_suffixed("word_ali", suffix), format_word_ali(r.utt_id, words))
    for spk in c_sorted(spk2utt):
        add("spk2utt", f"{spk} {' '.join(spk2utt[spk])}\n")

    for name, lines in files.items():
        if name.startswith("wav.scp") and records and records[0].segment:
            lines = sorted(set(lines), key=lambda ln: _c_order(ln.split(" ", 1)[0]))
        with atomic_open(out_dir / name) as f:
            f.writelines(lines)
    return len(records)
