"""Helpers shared by the corpus preparation modules: errors, TSV reading,
Common Voice clips and speakers, audio durations, drop reports, writing dirs."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import sys
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from espnet_csst.data.datadir import LANG_RE, UttRecord, write_data_dir
from espnet_csst.utils.fileio import replace_dir

_prog = ["corpora"]


def info(fmt: str, *args) -> None:
    """Progress and report lines on stdout, prefixed with the program name."""
    print(f"{_prog[0]}: {fmt % args if args else fmt}", flush=True)


class PrepError(Exception):
    """A problem with the corpus files or the environment; the message is one line
    that says what is wrong and how to fix it."""


def run_main(prog: str, func, argv=None) -> int:
    """Run ``func(argv)``; turn a :class:`PrepError` into one ``prog: error:`` line and exit 1."""
    _prog[0] = prog
    try:
        func(argv)
    except PrepError as e:
        sys.stdout.flush()
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------
# Dropped rows: counted per reason, a few examples each
# ---------------------------------------------------------------------------
@dataclass
class DropReport:
    """Rows that did not make it into a data directory, counted per reason."""

    counts: Counter = field(default_factory=Counter)
    examples: Dict[str, List[str]] = field(default_factory=dict)
    max_examples: int = 3

    def drop(self, reason: str, example: str) -> None:
        self.counts[reason] += 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < self.max_examples:
            ex.append(example)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> List[str]:
        return [
            f"  dropped {n} ({reason}), e.g. {', '.join(self.examples[reason])}"
            for reason, n in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]

    def as_dict(self) -> Dict[str, int]:
        return dict(self.counts)


def log_split_summary(name: str, kept: int, drops: DropReport, out: Path) -> None:
    info("%s: %d utterances -> %s (%d dropped)", name, kept, out, drops.total)
    for line in drops.lines():
        info("%s", line)


# ---------------------------------------------------------------------------
# Text and ids
# ---------------------------------------------------------------------------
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def safe_id(text: str) -> str:
    """An id usable in Kaldi files: characters other than ``[A-Za-z0-9_.-]`` become ``_``."""
    out = _UNSAFE.sub("_", text)
    if not out or not out[0].isalnum():
        out = "x" + out
    return out


def speaker_id(client_id: str, length: int = 16) -> str:
    """A short, safe speaker id from a Common Voice ``client_id`` (a long hex hash,
    or an arbitrary string in some releases): the first ``length`` hex digits of its SHA-1."""
    return hashlib.sha1(client_id.encode("utf-8")).hexdigest()[:length]


def one_line(text: str) -> str:
    """Collapse all whitespace (tabs, newlines, repeated spaces) to single spaces."""
    return " ".join(text.split())


#: Common Voice / CoVoST codes with a region, and the ISO 639 code used in file names.
_REGION_CODES = {"zh-CN": "zh", "sv-SE": "sv", "zh-TW": "zh", "zh-HK": "zh", "pt-BR": "pt"}


def iso_lang(code: str) -> str:
    """The ISO 639 code for a corpus language code (``zh-CN`` -> ``zh``, ``sv-SE`` -> ``sv``),
    as text.<lang> and utt2lang need it."""
    iso = _REGION_CODES.get(code, code.split("-")[0].lower())
    if not LANG_RE.match(iso):
        raise PrepError(f"language code {code!r} does not map to an ISO 639 code (2-3 letters)")
    return iso


# ---------------------------------------------------------------------------
# TSV files as the official CoVoST / Common Voice loaders read them
# ---------------------------------------------------------------------------
def _open_text(path: Path):
    try:
        return open(path, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise PrepError(f"{path}: file not found") from None


def read_tsv(path: Path, required: Sequence[str], what: str,
             drops: Optional[DropReport] = None) -> Iterator[Tuple[int, Dict[str, str]]]:
    """Yield ``(line number, {column: value})`` for a TSV file with a header line.

    Read like the official CoVoST loader (``pandas.read_csv(sep="\\t",
    quoting=csv.QUOTE_NONE, escapechar="\\\\")``): double quotes are ordinary
    characters (a field may start with ``"`` without opening a quoted field, which
    default CSV quoting would merge with the following lines), and a backslash
    escapes the next character. Rows with a wrong number of fields are reported
    to ``drops`` (or raise when ``drops`` is None).
    """
    with _open_text(path) as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        try:
            header = next(reader)
        except StopIteration:
            raise PrepError(f"{path}: empty file, expected a {what} with a header line") from None
        except UnicodeDecodeError as e:
            raise PrepError(f"{path}: not valid UTF-8 ({e.reason}); is this the {what}?") from None
        missing = [c for c in required if c not in header]
        if missing:
            raise PrepError(
                f"{path}: missing column(s) {', '.join(missing)} in the header "
                f"(found: {', '.join(header[:8])}); is this the {what}?"
            )
        try:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    msg = f"{path.name}:{reader.line_num}"
                    if drops is None:
                        raise PrepError(f"{path}:{reader.line_num}: {len(row)} fields, "
                                        f"expected {len(header)} ({what})")
                    drops.drop(f"malformed {path.name} row: wrong number of fields", msg)
                    continue
                yield reader.line_num, dict(zip(header, row))
        except UnicodeDecodeError as e:
            raise PrepError(f"{path}: not valid UTF-8 ({e.reason}); is this the {what}?") from None


# ---------------------------------------------------------------------------
# Common Voice
# ---------------------------------------------------------------------------
def find_cv_lang_dir(cv_root: Path, cv_lang: str) -> Path:
    """The Common Voice directory holding ``clips/`` and ``validated.tsv``: ``cv_root``
    itself or ``cv_root/<lang>`` (the layout of the release tarballs)."""
    for cand in (cv_root, cv_root / cv_lang):
        if (cand / "clips").is_dir():
            return cand
    raise PrepError(
        f"no Common Voice clips/ directory in {cv_root} or {cv_root / cv_lang}; "
        f"COMMONVOICE must point at the extracted '{cv_lang}' release "
        "(the directory with clips/ and validated.tsv)"
    )


@dataclass
class CvClip:
    sentence: str
    client_id: str


CV_TSV = "Common Voice TSV (columns client_id, path, sentence, ...)"


def load_cv_tsv(path: Path, drops: DropReport) -> Dict[str, CvClip]:
    """``{clip file name: CvClip}`` from a Common Voice ``validated.tsv``."""
    out: Dict[str, CvClip] = {}
    for _, row in read_tsv(path, ("client_id", "path", "sentence"), CV_TSV, drops):
        out[clip_name(row["path"])] = CvClip(row["sentence"], row["client_id"])
    return out


def clip_name(path: str) -> str:
    """The clip file name of a TSV ``path`` value (early releases omit ``.mp3``)."""
    path = path.strip()
    return path if path.endswith(".mp3") else path + ".mp3"


def list_dir_sizes(directory: Path) -> Dict[str, int]:
    """``{file name: size in bytes}`` for the files in ``directory`` (one scandir)."""
    out = {}
    with os.scandir(directory) as it:
        for entry in it:
            if entry.is_file():
                out[entry.name] = entry.stat().st_size
    return out


# ---------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------
MP3_FIX = ("install a soundfile whose libsndfile is >= 1.1.0 with MPEG support: "
           "`pip install --upgrade 'soundfile>=0.12.1'` (its wheels bundle libsndfile 1.2), "
           "or a system libsndfile >= 1.1 built with libmpg123/libmp3lame")


def check_mp3_support() -> None:
    """Fail with one line naming the codec and the fix when soundfile cannot read MP3."""
    import soundfile

    version = getattr(soundfile, "__libsndfile_version__", "unknown")
    try:
        formats = soundfile.available_formats()
    except Exception:  # pragma: no cover - a broken soundfile install
        formats = {}
    if "MP3" not in formats:
        raise PrepError(
            f"soundfile {getattr(soundfile, '__version__', '?')} uses libsndfile {version}, "
            "which cannot read MP3 (Common Voice clips are MP3); " + MP3_FIX
        )


def audio_seconds(path: str) -> float:
    import soundfile

    info = soundfile.info(path)
    return info.frames / info.samplerate if info.samplerate else 0.0


def audio_durations(paths: Sequence[str], nj: int = 4) -> Dict[str, object]:
    """``{path: seconds or the exception}`` from ``soundfile.info`` (header reads,
    in ``nj`` threads; libsndfile calls release the GIL)."""

    def one(p):
        try:
            return p, audio_seconds(p)
        except Exception as e:  # LibsndfileError, RuntimeError, OSError
            return p, e

    if nj <= 1 or len(paths) < 64:
        return dict(one(p) for p in paths)
    with ThreadPoolExecutor(max_workers=nj) as ex:
        return dict(ex.map(one, paths, chunksize=256))


def short_error(exc: BaseException) -> str:
    text = one_line(str(exc))
    return text if len(text) <= 120 else text[:117] + "..."


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------
def write_dir(out_root: Path, name: str, records: Iterable[UttRecord],
              drops: Optional[DropReport] = None) -> Tuple[Path, int]:
    """Write ``out_root/name`` completely into a temporary sibling, then move it into
    place, so an interrupted run never leaves a partial directory under the final name.
    An empty data directory is an error (all rows dropped: the wrong release?)."""
    records = list(records)
    if not records:
        why = "; ".join(f"{r}: {n}" for r, n in drops.counts.most_common(3)) if drops else ""
        raise PrepError(f"{name}: no utterances left" + (f" (dropped {why})" if why else "")
                        + "; check that the corpus paths point at the right releases")
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / name
    tmp = out_root / f".{name}.tmp{os.getpid()}"
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    try:
        n = write_data_dir(tmp, records)
        replace_dir(tmp, final)
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final, n


def write_dirs(out_root: Path, outputs: Dict[str, Tuple[List[UttRecord], DropReport]],
               optional: Sequence[str] = ()) -> Dict[str, int]:
    """Write several data directories, none of them unless all can be: every one must
    have utterances, except those named in ``optional`` (skipped when empty)."""
    for name, (records, drops) in outputs.items():
        if not records and name not in optional:
            write_dir(out_root, name, records, drops)  # raises the "no utterances" error
    written = {}
    for name, (records, drops) in outputs.items():
        if not records:
            info("%s: no utterances (not written)", name)
            continue
        final, n = write_dir(out_root, name, records, drops)
        log_split_summary(name, n, drops, final)
        written[name] = n
    return written


def existing_dir(path: Optional[str], what: str, option: str) -> Path:
    if not path:
        raise PrepError(f"{option} is required: {what}")
    p = Path(path)
    if not p.exists():
        raise PrepError(f"{option} {path}: no such file or directory ({what})")
    return p


def unique_records(records: List[UttRecord], drops: DropReport) -> List[UttRecord]:
    """Drop the second and later records with an already used utterance id."""
    seen: "OrderedDict[str, UttRecord]" = OrderedDict()
    for r in records:
        if r.utt_id in seen:
            drops.drop("duplicate utterance id", r.utt_id)
            continue
        seen[r.utt_id] = r
    return list(seen.values())
