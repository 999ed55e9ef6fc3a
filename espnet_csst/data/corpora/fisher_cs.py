"""Fisher Spanish-English speech translation, split into code-switched and
monolingual subsets as in Weller et al. (2022), "End-to-End Speech Translation for
Code Switched Speech" (Findings of ACL 2022).

    python -m espnet_csst.data.corpora.fisher_cs --speech LDC2010S01 \\
        --transcripts LDC2010T04 --translations fisher-callhome-corpus \\
        --cs_splits fisher_mapping.csv --out_dir data

Reads (formats in doc/corpora.md):
  LDC2010S01/**/<call>.sph     Fisher Spanish speech: NIST SPHERE, 2 channels (A, B),
                               8 kHz mu-law; shorten-compressed files need sph2pipe
  LDC2010T04/**/<call>.tdf     transcripts, tab-separated: file, channel, start, end,
                               speaker, speakerType, speakerDialect, transcript, section,
                               turn, segment, sectionType, suType; a header line
                               ("file;unicode\\t...") and ";;MM" metadata lines
  fisher-callhome-corpus/mapping/fisher_<split>   "<call> <n>[_<n>...]" per utterance:
                               the tdf lines (numbered from 1 after dropping the header
                               and ";;MM" lines) that make up the utterance
  fisher-callhome-corpus/corpus/ldc/fisher_train.en, fisher_<dev|dev2|test>.en.<0-3>
                               English translations, line k = mapping line k
  CS split (--cs_splits): fisher_mapping.csv of Weller et al.'s release (columns
                               file, file_line_num (0-based), split, audio_file,
                               audio_file_line_num, cs_type), or a directory with their
                               cs_corpus/fisher_<split>_{cs,mono}.es index lists
                               (+ train_vs_dev_cs.txt); or --cs_splits derive to label
                               utterances from the <foreign> tags of the LDC transcripts

Writes OUT/<dir>/ with segments (one recording per call side: <call>-A, <call>-B),
wav.scp (a command extracting the side's channel), text.<src>, text.en, utt2spk (the
call side), spk2utt, utt2lang (cs or es), utt2dur. Utterance ids are
``<call>-<A|B>-<start cs>-<end cs>`` (centiseconds, 6 digits, as ESPnet's recipe).

  train dev dev2 test           the Fisher splits of Post et al. (2013), source in text.es
  train_cs dev_cs train_mono    Weller et al.'s training data: code-switched utterances of
                                Fisher train (dev_cs = the 10% they held out) and the
                                monolingual rest; source in text.cs / text.es
  test_cs test_mono             their evaluation sets: Fisher dev + dev2 + test, split
                                into code-switched and monolingual utterances
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from espnet_csst.data.corpora._common import (
    DropReport,
    PrepError,
    existing_dir,
    info,
    run_main,
    unique_records,
    write_dirs,
)
from espnet_csst.data.datadir import UttRecord

FISHER_SPLITS = ("train", "dev", "dev2", "test")
#: English references per split in fisher-callhome-corpus/corpus/ldc.
REF_FILES = {"train": ["fisher_train.en"],
             **{s: [f"fisher_{s}.en.{i}" for i in range(4)] for s in ("dev", "dev2", "test")}}
SIDES = {0: "A", 1: "B"}  # tdf channel -> call side; sph channel = index + 1
SPH2PIPE_HELP = (
    "install sph2pipe and put it on PATH, or pass --sph2pipe /path/to/sph2pipe "
    "(build it: download sph2pipe_v2.5.tar.gz from https://www.openslr.org/resources/3/, "
    "untar, `gcc -o sph2pipe *.c -lm`; or `lhotse install-sph2pipe`; Kaldi's tools/ "
    "builds it too)"
)


# ---------------------------------------------------------------------------
# LDC2010T04 transcripts
# ---------------------------------------------------------------------------
@dataclass
class TdfLine:
    channel: int
    start: float
    end: float
    transcript: str


def read_tdf(path: Path) -> List[Optional[TdfLine]]:
    """The transcript lines of a ``.tdf`` file, numbered as the fisher-callhome-corpus
    mapping numbers them: lines containing ``;;MM`` or ``file;unicode`` are removed, the
    rest counted from 1 (entry 0 of the list is line 1). Unparsable lines keep their
    number and are None."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise PrepError(f"{path}: not valid UTF-8 at byte {e.start}; LDC2010T04 .tdf files "
                        "are UTF-8 (is this the Fisher Spanish transcripts release?)") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: List[Optional[TdfLine]] = []
    for raw in lines:
        raw = raw.rstrip("\r")
        if ";;MM" in raw or "file;unicode" in raw:
            continue
        fields = raw.split("\t")
        try:
            out.append(TdfLine(int(fields[1]), float(fields[2]), float(fields[3]),
                               fields[7] if len(fields) > 7 else ""))
        except (IndexError, ValueError):
            out.append(None)
    return out


_MARKUP_CHARS = re.compile(r"[()+*/#]")
_TAG = re.compile(r"<[^>]*>")
_BRACES = re.compile(r"\{[^}]*\}")
_BRACKETS = re.compile(r"\[[^\]]*\]")


def clean_transcript(raw: str) -> str:
    """The words of an LDC transcript without markup, as fisher-callhome-corpus's
    strip_markup.pl leaves them: ``( ) + * / #`` removed, ``<tags>`` removed (the words
    inside ``<foreign>...</foreign>`` stay), ``{...}`` and ``[...]`` removed."""
    s = _MARKUP_CHARS.sub("", raw)
    s = _TAG.sub("", s)
    s = _BRACES.sub("", s)
    s = _BRACKETS.sub("", s)
    return " ".join(s.split())


_FOREIGN = re.compile(r"<\s*foreign\b[^>]*>(.*?)<\s*/\s*foreign\s*>", re.S | re.I)


def has_code_switch(raw: str) -> bool:
    """True when the transcript marks words of another language: a ``<foreign ...>``
    span with words in it (Weller et al.'s criterion; empty spans and ``(())`` don't
    count). A few known typos of the tag are repaired first, as they do."""
    raw = (raw.replace('lang+"English"', 'lang="English"')
           .replace('lan="English"', 'lang="English"').replace(" /foreign>", "</foreign>"))
    return any(_MARKUP_CHARS.sub("", m).strip() for m in _FOREIGN.findall(raw))


# ---------------------------------------------------------------------------
# fisher-callhome-corpus mapping and translations
# ---------------------------------------------------------------------------
def read_mapping(path: Path) -> List[Tuple[str, List[int]]]:
    if not path.is_file():
        raise PrepError(f"{path} not found; FISHER_CALLHOME_TRANSLATIONS must be a checkout "
                        "of https://github.com/joshua-decoder/fisher-callhome-corpus")
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            call, ids = parts
            out.append((call, [int(x) for x in ids.split("_")]))
        except ValueError:
            raise PrepError(f"{path}:{lineno}: expected '<call> <n>[_<n>...]', got {line!r}") \
                from None
    return out


def read_lines(path: Path) -> List[str]:
    if not path.is_file():
        raise PrepError(f"{path} not found (English translations of fisher-callhome-corpus)")
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln.rstrip("\r") for ln in lines]


# ---------------------------------------------------------------------------
# Weller et al. (2022) code-switched / monolingual split
# ---------------------------------------------------------------------------
#: (Fisher split, 0-based mapping line) -> (Weller split, "cs" | "mono")
CsSplit = Dict[Tuple[str, int], Tuple[str, str]]


def read_cs_mapping_csv(path: Path, mapping: Dict[str, List[Tuple[str, List[int]]]]) -> CsSplit:
    """``fisher_mapping.csv`` as written by make_mapping_files.py of
    apple/ml-code-switched-speech-translation (pandas ``to_csv`` with its index)."""
    out: CsSplit = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        need = {"file", "file_line_num", "split", "cs_type"}
        if not need <= set(reader.fieldnames or ()):
            raise PrepError(f"{path}: expected columns {', '.join(sorted(need))} "
                            f"(Weller et al.'s fisher_mapping.csv), found {reader.fieldnames}")
        for row in reader:
            fsplit = row["file"].replace("fisher_", "", 1)
            if fsplit not in FISHER_SPLITS:
                raise PrepError(f"{path}:{reader.line_num}: file {row['file']!r} is not "
                                "one of fisher_train, fisher_dev, fisher_dev2, fisher_test")
            try:
                idx = int(row["file_line_num"])
            except ValueError:
                raise PrepError(f"{path}:{reader.line_num}: file_line_num "
                                f"{row['file_line_num']!r} is not a number") from None
            if row["cs_type"] not in ("cs", "mono"):
                continue  # "n/a": not used in their data
            if row.get("audio_file") and idx < len(mapping[fsplit]):
                call, ids = mapping[fsplit][idx]
                theirs = (row["audio_file"], row.get("audio_file_line_num", ""))
                if theirs != (call, "_".join(map(str, ids))):
                    raise PrepError(
                        f"{path}:{reader.line_num}: line {idx} of fisher_{fsplit} is "
                        f"{theirs[0]} {theirs[1]} there but {call} {'_'.join(map(str, ids))} "
                        "in mapping/; use the fisher-callhome-corpus version the split was "
                        "made from")
            out[(fsplit, idx)] = (row["split"], row["cs_type"])
    return out


def read_cs_index_lists(root: Path) -> CsSplit:
    """The intermediate files of Weller et al.'s scripts: ``fisher_<split>_{cs,mono}.es``
    (0-based line numbers, one per line) and ``train_vs_dev_cs.txt`` (positions in the
    list of code-switched training lines that form their CS dev set)."""
    base = root / "cs_corpus" if (root / "cs_corpus").is_dir() else root
    out: CsSplit = {}
    for fsplit in FISHER_SPLITS:
        for kind in ("cs", "mono"):
            path = base / f"fisher_{fsplit}_{kind}.es"
            if not path.is_file():
                raise PrepError(f"{path} not found (Weller et al. split lists)")
            for ln in path.read_text(encoding="utf-8").split():
                out[(fsplit, int(ln))] = ("train" if fsplit == "train" else "test", kind)
    dev_file = root / "train_vs_dev_cs.txt"
    if dev_file.is_file():
        dev_pos = {int(x) for x in dev_file.read_text(encoding="utf-8").split()}
        train_cs = sorted(i for (s, i), (_, k) in out.items() if s == "train" and k == "cs")
        for pos, idx in enumerate(train_cs):
            if pos in dev_pos:
                out[("train", idx)] = ("dev", "cs")
    else:
        info("%s not found: no dev_cs set (all code-switched train lines in train_cs)",
                 dev_file)
    return out


def load_cs_split(spec: str, mapping) -> Optional[CsSplit]:
    """None for ``derive`` (labels come from the transcripts' <foreign> tags)."""
    if spec == "derive":
        return None
    p = Path(spec)
    if p.is_dir():
        for cand in (p / "fisher_mapping.csv", p / "mapping_files" / "fisher_mapping.csv"):
            if cand.is_file():
                return read_cs_mapping_csv(cand, mapping)
        if (p / "cs_corpus").is_dir() or list(p.glob("fisher_*_cs.es")):
            return read_cs_index_lists(p)
        raise PrepError(
            f"{p}: no fisher_mapping.csv, mapping_files/fisher_mapping.csv or cs_corpus/ "
            "index lists; FISHER_CS_SPLITS must point at the Weller et al. split release "
            "(apple/ml-code-switched-speech-translation)")
    if p.is_file():
        return read_cs_mapping_csv(p, mapping)
    raise PrepError(f"--cs_splits {spec}: no such file or directory")


# ---------------------------------------------------------------------------
# LDC2010S01 speech
# ---------------------------------------------------------------------------
@dataclass
class Sphere:
    path: Path
    coding: str
    channels: int
    seconds: Optional[float]


def read_sphere_header(path: Path) -> Sphere:
    """Parse the NIST SPHERE header (``NIST_1A``, header size, ``key -type value``
    lines up to ``end_head``)."""
    with open(path, "rb") as f:
        head = f.read(1024)
        if not head.startswith(b"NIST_1A"):
            raise PrepError(f"{path}: not a NIST SPHERE file (no NIST_1A header)")
        try:
            size = int(head.split(b"\n")[1])
        except (IndexError, ValueError):
            raise PrepError(f"{path}: bad NIST SPHERE header (no header size on line 2)") \
                from None
        if size > len(head):
            head += f.read(size - len(head))
    fields = {}
    for line in head.split(b"\n")[2:]:
        line = line.strip()
        if line == b"end_head":
            break
        parts = line.decode("latin-1").split(None, 2)
        if len(parts) == 3:
            fields[parts[0]] = parts[2]
    try:
        rate, count = int(fields["sample_rate"]), int(fields["sample_count"])
        seconds = count / rate if rate else None
    except (KeyError, ValueError):
        seconds = None
    return Sphere(path, fields.get("sample_coding", "pcm"),
                  int(fields.get("channel_count", "1")), seconds)


def soundfile_reads(sph: Sphere) -> bool:
    """Whether libsndfile can decode the file: it has no shorten/wavpack decoder."""
    if any(c in sph.coding.lower() for c in ("shorten", "wavpack", "shortpack")):
        return False
    try:
        import soundfile

        soundfile.info(str(sph.path))
        return True
    except Exception:
        return False


def wav_command(sph: Sphere, channel: int, reader: str, sph2pipe: Optional[str]) -> str:
    """A wav.scp command printing the 1-based ``channel`` of ``sph`` as WAV."""
    path = shlex.quote(str(sph.path.resolve()))
    if reader == "sph2pipe":
        return f"{shlex.quote(sph2pipe)} -f wav -p -c {channel} {path} |"
    return (f"{shlex.quote(sys.executable)} -m espnet_csst.data.corpora.fisher_cs "
            f"--extract_channel {path} {channel} |")


def choose_reader(spheres: Sequence[Sphere], reader: str, sph2pipe: Optional[str]) -> str:
    unreadable = [s for s in spheres if not soundfile_reads(s)] if reader != "sph2pipe" else []
    if reader == "soundfile" and unreadable:
        s = unreadable[0]
        raise PrepError(
            f"{len(unreadable)} of {len(spheres)} .sph files (e.g. {s.path}, sample_coding "
            f"{s.coding!r}) cannot be read by libsndfile; use --sph_reader sph2pipe and "
            + SPH2PIPE_HELP)
    if reader == "sph2pipe" or unreadable:
        if not sph2pipe:
            if unreadable:
                s = unreadable[0]
                why = (f"{len(unreadable)} of {len(spheres)} .sph files (e.g. {s.path}) are "
                       f"NIST SPHERE with sample_coding {s.coding!r}, which libsndfile "
                       "(soundfile) cannot decode (shorten compression)")
            else:
                why = "--sph_reader sph2pipe was given but sph2pipe is not on PATH"
            raise PrepError(f"{why}; {SPH2PIPE_HELP}")
        return "sph2pipe"
    return "soundfile"


def extract_channel(path: str, channel: int, out=None) -> None:
    """Write one channel (1-based) of an audio file as 16-bit WAV to ``out`` (stdout)."""
    import soundfile

    data, rate = soundfile.read(path, dtype="int16", always_2d=True)
    if not 1 <= channel <= data.shape[1]:
        raise SystemExit(f"{path}: no channel {channel} (has {data.shape[1]})")
    buf = io.BytesIO()
    soundfile.write(buf, data[:, channel - 1], rate, format="WAV", subtype="PCM_16")
    (out or sys.stdout.buffer).write(buf.getvalue())


def find_files(root: Path, suffix: str) -> Dict[str, Path]:
    """``{stem: path}`` of the files under ``root`` ending in ``suffix`` (any case)."""
    out: Dict[str, Path] = {}
    for dirpath, _, names in os.walk(root, followlinks=True):
        for name in sorted(names):
            if name.lower().endswith(suffix):
                out.setdefault(name[: -len(suffix)], Path(dirpath) / name)
    return out


# ---------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------
@dataclass
class Utt:
    record: UttRecord
    fisher_split: str
    index: int  # 0-based line of the fisher-callhome mapping
    cs: bool  # by the split list (or the tags with --cs_splits derive)
    weller_split: Optional[str]  # train, dev, test; None: not in Weller et al.'s data


def build_utterances(fsplit: str, mapping, refs: List[str], tdfs: Dict[str, Path],
                     tdf_cache: dict, spheres: Dict[str, Sphere], cs_split: Optional[CsSplit],
                     wav_for: Callable[[str, str], str], drops: DropReport,
                     stats: dict) -> List[Utt]:
    """The utterances of one Fisher split (one per line of its mapping file)."""
    utts = []
    for idx, (call, ids) in enumerate(mapping):
        where = f"fisher_{fsplit}:{idx + 1}"
        if call not in tdfs:
            drops.drop("no .tdf transcript for the call", call)
            continue
        if call not in tdf_cache:
            tdf_cache[call] = read_tdf(tdfs[call])
        lines = tdf_cache[call]
        parts = [lines[i - 1] if 1 <= i <= len(lines) else None for i in ids]
        if any(p is None for p in parts):
            drops.drop("mapping names a tdf line that is missing or unparsable", where)
            continue
        raw = " ".join(p.transcript for p in parts)
        text, translation = clean_transcript(raw), " ".join(refs[idx].split())
        if not text:
            drops.drop("empty transcript after removing markup", where)
            continue
        if not translation:
            drops.drop("empty translation", where)
            continue
        side = SIDES.get(parts[0].channel)
        if side is None:
            drops.drop("tdf channel is not 0 or 1", where)
            continue
        sph = spheres.get(call)
        if sph is None:
            drops.drop("no .sph audio for the call", call)
            continue
        start, end = parts[0].start, parts[-1].end
        if sph.seconds is not None and end > sph.seconds:
            if start >= sph.seconds:
                drops.drop("segment starts after the end of the recording", where)
                continue
            end = sph.seconds
            stats["clipped"] = stats.get("clipped", 0) + 1
        start, end = round(start, 3), round(end, 3)
        if end <= start:
            drops.drop("empty or negative segment (end <= start)", where)
            continue
        tagged = has_code_switch(raw)
        if cs_split is None:
            weller, cs = ("test" if fsplit != "train" else "train"), tagged
        elif (fsplit, idx) in cs_split:
            weller, kind = cs_split[(fsplit, idx)]
            cs = kind == "cs"
            if cs != tagged:
                stats["tag_disagreements"] = stats.get("tag_disagreements", 0) + 1
        else:
            weller, cs = None, tagged
            stats["not_in_split_list"] = stats.get("not_in_split_list", 0) + 1
        rec_id = f"{call}-{side}"
        utt_id = f"{rec_id}-{round(start * 100):06d}-{round(end * 100):06d}"
        record = UttRecord(
            utt_id=utt_id, spk=rec_id, texts={"es": text, "en": translation},
            wav={"": wav_for(call, side)},
            lang="cs" if cs else "es", durations={"": round(end - start, 3)},
            segment=(rec_id, start, end),
        )
        utts.append(Utt(record, fsplit, idx, cs, weller))
    return utts


def _subset(utts: List[Utt], src_key: str) -> List[UttRecord]:
    out = []
    for u in utts:
        r = u.record
        out.append(UttRecord(r.utt_id, r.spk, texts={src_key: r.texts["es"], "en": r.texts["en"]},
                             wav=r.wav, lang=r.lang, durations=r.durations, segment=r.segment))
    return out


def prepare(speech: Path, transcripts: Path, translations: Path, cs_splits: str,
            out_dir: Path, sph_reader: str = "auto", sph2pipe: Optional[str] = None,
            en_ref: int = 0) -> Dict[str, int]:
    sph2pipe = sph2pipe or shutil.which("sph2pipe")
    if sph2pipe and not (os.path.isfile(sph2pipe) and os.access(sph2pipe, os.X_OK)):
        raise PrepError(f"--sph2pipe {sph2pipe}: not an executable file; " + SPH2PIPE_HELP)
    mapping = {s: read_mapping(translations / "mapping" / f"fisher_{s}") for s in FISHER_SPLITS}
    refs = {}
    for s in FISHER_SPLITS:
        files = REF_FILES[s]
        ref_file = translations / "corpus" / "ldc" / files[min(en_ref, len(files) - 1)]
        refs[s] = read_lines(ref_file)
        if len(refs[s]) != len(mapping[s]):
            raise PrepError(f"{ref_file} has {len(refs[s])} lines but mapping/fisher_{s} has "
                            f"{len(mapping[s])}; both must come from one fisher-callhome-corpus "
                            "checkout")
    cs_split = load_cs_split(cs_splits, mapping)

    tdfs = find_files(transcripts, ".tdf")
    if not tdfs:
        raise PrepError(f"no .tdf files under {transcripts}; FISHER_SPANISH_TRANSCRIPTS must "
                        "be the LDC2010T04 release (fisher_spa_tr/data/transcripts/*.tdf)")
    sph_files = find_files(speech, ".sph")
    if not sph_files:
        raise PrepError(f"no .sph files under {speech}; FISHER_SPANISH_SPEECH must be the "
                        "LDC2010S01 release (data/speech/*.sph)")
    needed = sorted({call for s in FISHER_SPLITS for call, _ in mapping[s]} & set(sph_files))
    spheres = {call: read_sphere_header(sph_files[call]) for call in needed}
    reader = choose_reader(list(spheres.values()), sph_reader, sph2pipe) if spheres else "soundfile"
    info("reading %d .sph files with %s", len(spheres),
         sph2pipe if reader == "sph2pipe" else "soundfile (libsndfile)")

    def wav_for(call: str, side: str) -> str:
        return wav_command(spheres[call], 1 if side == "A" else 2, reader, sph2pipe)

    tdf_cache: dict = {}
    by_split: Dict[str, List[Utt]] = {}
    drops: Dict[str, DropReport] = {}
    stats: dict = {}
    for s in FISHER_SPLITS:
        drops[s] = DropReport()
        utts = build_utterances(s, mapping[s], refs[s], tdfs, tdf_cache, spheres, cs_split,
                                wav_for, drops[s], stats)
        recs = unique_records([u.record for u in utts], drops[s])
        keep = {id(r) for r in recs}
        by_split[s] = [u for u in utts if id(u.record) in keep]

    outputs: Dict[str, Tuple[List[UttRecord], DropReport]] = {
        s: ([u.record for u in by_split[s]], drops[s]) for s in FISHER_SPLITS}
    train = by_split["train"]
    evals = [u for s in ("dev", "dev2", "test") for u in by_split[s]]
    subsets = {
        "train_cs": _subset([u for u in train if u.cs and u.weller_split == "train"], "cs"),
        "dev_cs": _subset([u for u in train if u.cs and u.weller_split == "dev"], "cs"),
        "train_mono": _subset([u for u in train if not u.cs and u.weller_split == "train"], "es"),
        "test_cs": _subset([u for u in evals if u.cs and u.weller_split is not None], "cs"),
        "test_mono": _subset([u for u in evals if not u.cs and u.weller_split is not None], "es"),
    }
    for name, records in subsets.items():
        outputs[name] = (records, DropReport())
    summary = write_dirs(out_dir, outputs, optional=list(subsets))
    if stats.get("clipped"):
        info("%d segments ended after their recording and were cut at its end",
             stats["clipped"])
    if stats.get("tag_disagreements"):
        info("note: %d utterances are labelled differently by the split list and by the "
             "<foreign> tags of the transcripts (the split list wins)",
             stats["tag_disagreements"])
    if stats.get("not_in_split_list"):
        info("note: %d utterances are not in the split list (kept in the Fisher splits "
             "only)", stats["not_in_split_list"])
    return summary


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--speech", help="LDC2010S01 (Fisher Spanish Speech) directory")
    p.add_argument("--transcripts", help="LDC2010T04 (Fisher Spanish Transcripts) directory")
    p.add_argument("--translations", help="fisher-callhome-corpus checkout (mapping/, corpus/)")
    p.add_argument("--cs_splits", help="Weller et al. fisher_mapping.csv (or a directory with "
                                       "it or their cs_corpus/ lists), or 'derive'")
    p.add_argument("--out_dir", help="where the data directories are written")
    p.add_argument("--sph_reader", choices=("auto", "soundfile", "sph2pipe"), default="auto",
                   help="auto: soundfile when libsndfile reads every .sph, else sph2pipe")
    p.add_argument("--sph2pipe", default=None, help="sph2pipe binary (default: from PATH)")
    p.add_argument("--en_ref", type=int, default=0, choices=range(4),
                   help="which of the 4 English references of dev/dev2/test goes to text.en")
    p.add_argument("--extract_channel", nargs=2, metavar=("AUDIO", "CHANNEL"),
                   help="(used by wav.scp) print one channel of AUDIO as WAV on stdout")
    return p


def _main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    if args.extract_channel:
        extract_channel(args.extract_channel[0], int(args.extract_channel[1]))
        return
    for opt in ("speech", "transcripts", "translations", "cs_splits", "out_dir"):
        if not getattr(args, opt):
            raise PrepError(f"--{opt} is required")
    prepare(
        existing_dir(args.speech, "LDC2010S01", "--speech"),
        existing_dir(args.transcripts, "LDC2010T04", "--transcripts"),
        existing_dir(args.translations, "fisher-callhome-corpus", "--translations"),
        args.cs_splits, Path(args.out_dir), args.sph_reader, args.sph2pipe, args.en_ref,
    )


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "--extract_channel":
        # wav.scp pipe: no logging set-up, nothing but WAV on stdout
        extract_channel(argv[1], int(argv[2]))
        return 0
    return run_main("fisher_cs", _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
