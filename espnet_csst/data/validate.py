"""Check and repair Kaldi data directories.

``validate`` enforces Kaldi's invariants plus the project's own files
(utt2lang, word_ali): files sorted in C order with unique keys, every utterance
in every per-utterance file, spk2utt the inverse of utt2spk, non-empty
transcripts, positive durations, word alignments in order and inside the
audio. Each problem names the file, line and utterance, and how to fix it.

``fix`` drops every utterance that has a problem (reporting each one with its
reason), keeps the first of duplicated ids, sorts every file, rebuilds
spk2utt, and keeps the original files in ``<dir>/.backup/``.
"""

from __future__ import annotations

import json
import logging
import shutil
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from espnet_csst.data.datadir import (
    LANG_RE,
    UTT_ID_RE,
    DataDirError,
    Line,
    c_sorted,
    parse_word_ali,
    read_lines,
    write_spk2utt,
)
from espnet_csst.utils.fileio import atomic_open

#: Slack for word times against the audio end (rounding to milliseconds).
TIME_TOLERANCE = 0.011
#: A corpus root is marked by this manifest; relative wav.scp paths may be relative to it.
CORPUS_MANIFEST = "corpus.json"

FIX_HINT = "run `python -m espnet_csst.bin.fix_data_dir {dir}` to drop it"


@dataclass(frozen=True)
class Problem:
    file: str
    lineno: Optional[int]
    utt: Optional[str]
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.lineno}" if self.lineno else "")
        who = f" utterance {self.utt!r}:" if self.utt else ""
        return f"{where}:{who} {self.message}"


def _stream_files(data_dir: Path, prefix: str) -> Dict[str, Path]:
    """``{suffix: path}`` for ``prefix`` and ``prefix.<lang>`` files, e.g. wav.scp.es."""
    out = {}
    for p in sorted(data_dir.iterdir()):
        if p.name == prefix:
            out[""] = p
        elif p.name.startswith(prefix + ".") and p.is_file():
            suffix = p.name[len(prefix) + 1 :]
            if LANG_RE.match(suffix):
                out[suffix] = p
    return out


def text_files(data_dir: Path) -> Dict[str, Path]:
    return {k: v for k, v in _stream_files(data_dir, "text").items() if k}


def find_corpus_root(data_dir: Path) -> Optional[Path]:
    for parent in [data_dir, *data_dir.resolve().parents]:
        if (parent / CORPUS_MANIFEST).is_file():
            return parent
    return None


def resolve_audio_path(path: str, audio_root: Optional[Path]) -> Path:
    """Kaldi resolves relative paths against the working directory; a relocatable
    corpus (with ``corpus.json`` at its root) stores them relative to its root."""
    p = Path(path)
    if p.is_absolute() or p.exists() or audio_root is None:
        return p
    return audio_root / p


#: The models read mono audio at this rate (ESPnet's loader passes no sample rate on).
MODEL_FS = 16000
CONVERT_HINT = "convert it: `python -m espnet_csst.bin.convert_audio_dir --fs {fs} {dir}`"


class _Checker:
    def __init__(self, data_dir: Path, audio_root: Optional[Path], check_audio: bool, fs: Optional[int] = None):
        self.dir = data_dir
        self.audio_root = audio_root if audio_root is not None else find_corpus_root(data_dir)
        self.check_audio = check_audio
        self.fs = fs
        self.problems: List[Problem] = []
        self.hint = FIX_HINT.format(dir=data_dir)

    def add(self, path: Path, lineno, utt, message: str) -> None:
        self.problems.append(Problem(str(path), lineno, utt, message))

    # ---- per-file structure --------------------------------------------
    def keyed_file(self, path: Path) -> Dict[str, Line]:
        """Read a key-value file; report unsorted, duplicate and malformed keys."""
        try:
            lines = read_lines(path)
        except DataDirError as e:
            self.problems.append(Problem(str(path), e.lineno, None, e.detail))
            return {}
        result: Dict[str, Line] = {}
        prev: Optional[Line] = None
        unsorted_reported = False
        for ln in lines:
            if ln.key in result:
                self.add(path, ln.lineno, ln.key,
                         f"duplicate id (first on line {result[ln.key].lineno}); {self.hint}")
                continue
            if (prev is not None and ln.key.encode() < prev.key.encode()
                    and not unsorted_reported):
                self.add(path, ln.lineno, ln.key,
                         f"file is not sorted: {ln.key!r} comes after {prev.key!r}; "
                         f"sort it with `LC_ALL=C sort -k1,1 -o {path} {path}` or "
                         f"`python -m espnet_csst.bin.fix_data_dir {self.dir}`")
                unsorted_reported = True
            if not UTT_ID_RE.match(ln.key):
                self.add(path, ln.lineno, ln.key,
                         "id has characters other than letters, digits, '_', '.', '-' "
                         "(whitespace or shell metacharacters); rename it")
            result[ln.key] = ln
            prev = ln
        return result

    def word_ali_file(self, path: Path) -> Dict[str, list]:
        try:
            return parse_word_ali(path)
        except DataDirError as e:
            self.problems.append(Problem(str(path), e.lineno, None, e.detail))
            return {}

    # ---- cross-file invariants ------------------------------------------
    def same_keys(self, path: Path, keys: Dict[str, Line], utts: Set[str], ref: str) -> None:
        for utt in c_sorted(utts - set(keys)):
            self.add(path, None, utt, f"utterance is in {ref} but missing from this file; "
                                      f"add its line or {self.hint}")
        for utt in c_sorted(set(keys) - utts):
            self.add(path, keys[utt].lineno, utt,
                     f"utterance is not in {ref}; add it there or {self.hint}")

    def run(self) -> Tuple[List[Problem], Dict]:
        d = self.dir
        if not d.is_dir():
            raise DataDirError("not a directory", d)
        for required in ("utt2spk", "spk2utt"):
            if not (d / required).is_file():
                self.add(d / required, None, None,
                         "required file missing (spk2utt can be made with "
                         "`python -m espnet_csst.bin.fix_data_dir`)")
        wavs = _stream_files(d, "wav.scp")
        texts = text_files(d)
        if not wavs:
            self.add(d / "wav.scp", None, None, "required file missing (no wav.scp or wav.scp.<lang>)")
        if not texts:
            self.add(d / "text.<lang>", None, None,
                     "no transcript: expected text.<lang> files such as text.es, text.en, text.cs")
        if not (d / "utt2spk").is_file():
            return self.problems, {}

        utt2spk = self.keyed_file(d / "utt2spk")
        utts = set(utt2spk)
        if not utts:
            self.add(d / "utt2spk", None, None, "the data directory has no utterances")
        self.check_spk2utt(utt2spk)

        for suffix, path in texts.items():
            keys = self.keyed_file(path)
            self.same_keys(path, keys, utts, "utt2spk")
            for utt, ln in keys.items():
                if not ln.value.strip():
                    self.add(path, ln.lineno, utt,
                             f"empty transcript; supply the text or {self.hint}")

        if (d / "utt2lang").is_file():
            keys = self.keyed_file(d / "utt2lang")
            self.same_keys(d / "utt2lang", keys, utts, "utt2spk")
            for utt, ln in keys.items():
                if not (LANG_RE.match(ln.value) or ln.value == "cs"):
                    self.add(d / "utt2lang", ln.lineno, utt,
                             f"language {ln.value!r} is not an ISO 639 code (2-3 lowercase "
                             "letters) or 'cs' for code-switched")

        segments = None
        if (d / "segments").is_file():
            segments = self.keyed_file(d / "segments")
            self.same_keys(d / "segments", segments, utts, "utt2spk")

        durations: Dict[str, Dict[str, float]] = {}
        for suffix, path in wavs.items():
            durations[suffix] = self.check_audio_stream(suffix, path, segments, utts)

        for suffix, path in _stream_files(d, "word_ali").items():
            self.check_word_ali(path, durations.get(suffix, {}), utts, texts)
        stats = {
            "utterances": len(utts),
            "speakers": len(set(ln.value for ln in utt2spk.values())),
            "hours": sum(next(iter(durations.values()), {}).values()) / 3600 if durations else 0.0,
        }
        return self.problems, stats

    def check_spk2utt(self, utt2spk: Dict[str, Line]) -> None:
        path = self.dir / "spk2utt"
        if not path.is_file():
            return
        spk2utt = self.keyed_file(path)
        expected: Dict[str, List[str]] = {}
        for utt, ln in utt2spk.items():
            expected.setdefault(ln.value, []).append(utt)
        for spk, ln in spk2utt.items():
            listed = ln.value.split()
            if spk not in expected:
                self.add(path, ln.lineno, None,
                         f"speaker {spk!r} has no utterance in utt2spk; {self.hint}")
            elif set(listed) != set(expected[spk]):
                missing = sorted(set(expected[spk]) - set(listed))[:3]
                extra = sorted(set(listed) - set(expected[spk]))[:3]
                self.add(path, ln.lineno, (missing or extra)[0],
                         f"speaker {spk!r} is not the inverse of utt2spk (missing {missing}, "
                         f"extra {extra}); rebuild it with fix_data_dir")
        for spk in set(expected) - set(spk2utt):
            self.add(path, None, expected[spk][0],
                     f"speaker {spk!r} of utt2spk is missing; rebuild spk2utt with fix_data_dir")

    def check_audio_stream(self, suffix, path, segments, utts) -> Dict[str, float]:
        """Check wav.scp[.suffix] and utt2dur[.suffix]; return utterance durations."""
        wav = self.keyed_file(path)
        if segments is None:
            self.same_keys(path, wav, utts, "utt2spk")
        dur_name = "utt2dur" + (f".{suffix}" if suffix else "")
        durations: Dict[str, float] = {}
        if (self.dir / dur_name).is_file():
            keys = self.keyed_file(self.dir / dur_name)
            self.same_keys(self.dir / dur_name, keys, utts, "utt2spk")
            for utt, ln in keys.items():
                try:
                    durations[utt] = float(ln.value)
                except ValueError:
                    self.add(self.dir / dur_name, ln.lineno, utt, f"duration {ln.value!r} is not a number")
                    continue
                if not durations[utt] > 0:
                    self.add(self.dir / dur_name, ln.lineno, utt,
                             f"duration {ln.value} s is not positive (empty audio); {self.hint}")
        if segments is not None:
            for utt, ln in segments.items():
                parts = ln.value.split()
                try:
                    rec, start, end = parts[0], float(parts[1]), float(parts[2])
                except (IndexError, ValueError):
                    self.add(self.dir / "segments", ln.lineno, utt,
                             "expected '<utt> <recording> <start> <end>'")
                    continue
                if rec not in wav:
                    self.add(self.dir / "segments", ln.lineno, utt,
                             f"recording {rec!r} is not in {path.name}")
                if not end > start >= 0:
                    self.add(self.dir / "segments", ln.lineno, utt,
                             f"segment [{start}, {end}] is empty or negative; {self.hint}")
                durations.setdefault(utt, end - start)
            return durations
        if self.check_audio:
            for utt, ln in wav.items():
                if ln.value.endswith("|"):
                    continue  # a command: cannot be checked without running it
                self.check_audio_file(path, ln, durations)
        return durations

    def check_audio_file(self, scp: Path, ln: Line, durations: Dict[str, float]) -> None:
        import soundfile

        audio = resolve_audio_path(ln.value, self.audio_root)
        if not audio.is_file():
            self.add(scp, ln.lineno, ln.key,
                     f"audio file {str(audio)!r} not found; fix the path or {self.hint}")
            return
        try:
            info = soundfile.info(str(audio))
        except Exception as e:  # soundfile raises RuntimeError/LibsndfileError subclasses
            self.add(scp, ln.lineno, ln.key, f"cannot read audio {str(audio)!r}: {e}; {self.hint}")
            return
        seconds = info.frames / info.samplerate if info.samplerate else 0.0
        if seconds <= 0:
            self.add(scp, ln.lineno, ln.key, f"audio {str(audio)!r} is empty; {self.hint}")
        if self.fs and (info.samplerate != self.fs or info.channels != 1):
            self.add(scp, ln.lineno, ln.key,
                     f"audio {str(audio)!r} is {info.samplerate} Hz with {info.channels} channel(s), but the "
                     f"models read mono {self.fs} Hz; " + CONVERT_HINT.format(fs=self.fs, dir=self.dir))
        elif ln.key in durations and abs(durations[ln.key] - seconds) > TIME_TOLERANCE * 3:
            self.add(scp, ln.lineno, ln.key,
                     f"utt2dur says {durations[ln.key]:.3f} s but the audio has {seconds:.3f} s; "
                     "regenerate utt2dur")
        durations.setdefault(ln.key, seconds)

    def check_word_ali(self, path: Path, durations: Dict[str, float], utts: Set[str],
                       texts: Dict[str, Path]) -> None:
        alis = self.word_ali_file(path)
        transcripts = []
        for p in texts.values() if alis else []:
            try:
                transcripts.append({ln.key: _spoken_form(ln.value.split()) for ln in read_lines(p)})
            except DataDirError:
                pass  # already reported when the text file itself was checked
        keys = c_sorted(alis)
        for a, b in zip(keys, keys[1:]):
            if b.encode() < a.encode():
                self.add(path, alis[b][0][1], b, f"file is not sorted: {b!r} comes after {a!r}")
                break
        for utt in keys:
            words = alis[utt]
            first_line = words[0][1]
            if utt not in utts:
                self.add(path, first_line, utt, f"utterance is not in utt2spk; {self.hint}")
                continue
            prev_end = 0.0
            for w, lineno in words:
                if not (0 <= w.start < w.end):
                    self.add(path, lineno, utt,
                             f"word {w.word!r} has start {w.start} >= end {w.end} or negative time")
                    break
                if w.start < prev_end - TIME_TOLERANCE:
                    self.add(path, lineno, utt,
                             f"word {w.word!r} starts at {w.start} before the previous word ends "
                             f"({prev_end}): word times must be in order and not overlap")
                    break
                dur = durations.get(utt)
                if dur is not None and w.end > dur + TIME_TOLERANCE:
                    self.add(path, lineno, utt,
                             f"word {w.word!r} ends at {w.end} s, past the end of the audio "
                             f"({dur:.3f} s); fix the alignment or {self.hint}")
                    break
                prev_end = w.end
            ali_words = _spoken_form([w.word for w, _ in words])
            if transcripts and not any(t.get(utt) == ali_words for t in transcripts):
                self.add(path, first_line, utt,
                         "the words of word_ali match none of the text.<lang> transcripts")


def _spoken_form(tokens: List[str]) -> List[str]:
    """Lowercase, edge punctuation removed: a written translation ("The dog.")
    and its spoken word alignment ("the dog") compare equal."""
    out = [t.lower().strip(string.punctuation + "¿¡«»“”") for t in tokens]
    return [t for t in out if t]


def validate(data_dir, audio_root: Optional[Path] = None, check_audio: bool = True,
             fs: Optional[int] = None):
    """Return ``(problems, stats)`` for a data directory.

    ``fs``: the sample rate (mono) every audio file must have, e.g. :data:`MODEL_FS` for the
    dumps the models read (``dump/raw``, after ``convert_audio_dir``); None accepts any, as
    ``data/`` keeps the corpus's own audio (Common Voice's 48 kHz MP3s)."""
    checker = _Checker(Path(data_dir), Path(audio_root) if audio_root else None, check_audio, fs)
    return checker.run()


# ---------------------------------------------------------------------------
# fix_data_dir
# ---------------------------------------------------------------------------
PER_UTT_PREFIXES = ("utt2spk", "text", "utt2lang", "utt2dur", "segments")


def _per_utt_files(d: Path) -> List[Path]:
    files = []
    for prefix in PER_UTT_PREFIXES:
        if prefix == "text":
            files += list(text_files(d).values())
        else:
            files += list(_stream_files(d, prefix).values())
    if not (d / "segments").is_file():
        files += list(_stream_files(d, "wav.scp").values())
    return files


def fix(data_dir, audio_root: Optional[Path] = None, check_audio: bool = True) -> Dict[str, str]:
    """Drop inconsistent utterances; return ``{dropped utt: reason}``."""
    d = Path(data_dir)
    if not (d / "utt2spk").is_file():
        raise DataDirError("file not found; a data directory needs utt2spk", d / "utt2spk")
    dropped: Dict[str, str] = {}

    # 1. duplicates keep their first line; files are re-read keyed and sorted below
    per_utt = _per_utt_files(d)
    contents: Dict[Path, Dict[str, str]] = {}
    for path in per_utt:
        kept: Dict[str, str] = {}
        for ln in read_lines(path):
            if ln.key in kept:
                dropped.setdefault(ln.key, f"duplicate id in {path.name}:{ln.lineno} (kept the first)")
                continue
            kept[ln.key] = ln.value
        contents[path] = kept

    # 2. utterances must be in every per-utterance file
    utts = set(contents[d / "utt2spk"])
    for path, kept in contents.items():
        for utt in utts - set(kept):
            dropped[utt] = f"missing from {path.name}"
        for utt in set(kept) - utts:
            dropped[utt] = f"in {path.name} but not in utt2spk"
    keep = set.intersection(*(set(k) for k in contents.values())) if contents else set()

    # 3. write the consistent subset sorted, then validate and drop what is still wrong
    backup = d / ".backup"
    backup.mkdir(exist_ok=True)
    for p in d.iterdir():
        if p.is_file():
            shutil.copy2(p, backup / p.name)
    for _ in range(2):
        _rewrite(d, contents, keep)
        problems, _ = validate(d, audio_root, check_audio)
        bad: Dict[str, str] = {}
        for p in problems:
            if "convert_audio_dir" in p.message:
                continue  # a sample rate or channel count is converted, not a reason to drop
            if p.utt in keep:  # the first problem of an utterance is its reason
                bad.setdefault(p.utt, f"{Path(p.file).name}: {p.message.split('; ')[0]}")
        if not bad:
            break
        for utt, reason in bad.items():
            # the speaker-map problems disappear once the rest is consistent
            if not reason.startswith("spk2utt"):
                dropped[utt] = reason
                keep.discard(utt)
    for utt in c_sorted(dropped):
        if utt not in keep:
            logging.warning("%s: dropped utterance %r: %s", d, utt, dropped[utt])
    return {u: r for u, r in dropped.items() if u not in keep}


def _rewrite(d: Path, contents: Dict[Path, Dict[str, str]], keep: Set[str]) -> None:
    for path, kept in contents.items():
        with atomic_open(path) as f:
            for key in c_sorted(k for k in kept if k in keep):
                f.write(f"{key} {kept[key]}\n")
    if (d / "segments").is_file():
        recs = {v.split()[0] for k, v in contents[d / "segments"].items() if k in keep}
        for path in _stream_files(d, "wav.scp").values():
            wav = {ln.key: ln.value for ln in read_lines(path)}
            with atomic_open(path) as f:
                for key in c_sorted(k for k in wav if k in recs):
                    f.write(f"{key} {wav[key]}\n")
    for path in _stream_files(d, "word_ali").values():
        by_utt: Dict[str, List[Line]] = {}
        for ln in read_lines(path):
            by_utt.setdefault(ln.key, []).append(ln)
        with atomic_open(path) as f:
            for utt in c_sorted(k for k in by_utt if k in keep):
                f.writelines(f"{ln.key} {ln.value}\n" for ln in by_utt[utt])
    write_spk2utt(d / "spk2utt", {u: spk for u, spk in contents[d / "utt2spk"].items() if u in keep})


def write_report(path: Path, data: dict) -> None:
    with atomic_open(path) as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
