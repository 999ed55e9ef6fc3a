#!/usr/bin/env python3
"""Bring a data directory's audio to what the models read: mono, ``--fs`` Hz (ESPnet's format stage).

    python -m espnet_csst.bin.convert_audio_dir --fs 16000 dump/raw/train_cs

ESPnet's data loader hands the models the samples without their sample rate,
so 8 kHz, 44.1 kHz or 48 kHz audio (Common Voice's MP3s) would be read as if
it were 16 kHz, and stereo as two channels. This reads the header of every
``wav.scp`` / ``wav.scp.<lang>`` entry. Entries already mono at ``--fs`` are
kept as they are (any PCM width or float: soundfile scales them all to
[-1, 1]). The others are downmixed (channel mean), resampled with torchaudio,
and written as 16-bit FLAC under ``--audio_dir`` (default
``<dir>/audio_<fs>``); their lines in wav.scp and utt2dur are rewritten. The
original files are kept in ``<dir>/.backup/`` and every file is written
atomically. Entries that cannot be read are left alone and reported: the
validator then names them (``validate_data_dir``), and ``fix_data_dir``
drops them. Command entries (``... |``) are left alone.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, Optional, Tuple

import soundfile
from tqdm import tqdm

from espnet_csst.data.datadir import read_lines
from espnet_csst.data.validate import find_corpus_root, resolve_audio_path
from espnet_csst.units.audio import load_mono
from espnet_csst.utils.fileio import atomic_open, atomic_write_text


def needs_conversion(path: Path, fs: int) -> Tuple[Optional[bool], str]:
    """``(True/False, why)``, or ``(None, error)`` when the header cannot be read."""
    try:
        info = soundfile.info(str(path))
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        return None, f"cannot read {path}: {e}"
    reasons = []
    if info.samplerate != fs:
        reasons.append(f"{info.samplerate} Hz")
    if info.channels != 1:
        reasons.append(f"{info.channels} channels")
    return bool(reasons), ", ".join(reasons)


def convert_stream(data_dir: Path, scp: Path, fs: int, audio_dir: Path, audio_root: Optional[Path],
                   counts: Counter) -> Dict[str, float]:
    """Convert what needs it in one wav.scp; returns ``{utt: new duration}`` of the converted ones."""
    lines, durations = [], {}
    suffix = scp.name[len("wav.scp"):]  # "" or ".es"
    for ln in tqdm(read_lines(scp), desc=f"{data_dir.name}/{scp.name}", unit="utt", disable=None):
        value = ln.value
        if value.endswith("|"):
            counts["command entries left as they are"] += 1
        else:
            path = resolve_audio_path(value, audio_root)
            convert, why = needs_conversion(path, fs)
            if convert is None:
                logging.warning(f"{scp}:{ln.lineno}: utterance {ln.key}: {why}; left as it is")
                counts["unreadable, left for the validator"] += 1
            elif convert:
                wav, _ = load_mono(str(path), fs)
                out = audio_dir / f"{ln.key}{suffix}.flac"
                with atomic_open(out, "wb") as f:
                    soundfile.write(f, wav, fs, subtype="PCM_16", format="FLAC")
                value = str(out.resolve())
                durations[ln.key] = len(wav) / fs
                counts[f"converted ({why})"] += 1
            else:
                counts["already mono at the rate"] += 1
        lines.append(f"{ln.key} {value}\n")
    if durations:
        atomic_write_text(scp, "".join(lines))
    return durations


def update_utt2dur(path: Path, durations: Dict[str, float]) -> None:
    if not path.is_file() or not durations:
        return
    lines = [f"{ln.key} {durations[ln.key]:.3f}\n" if ln.key in durations else f"{ln.key} {ln.value}\n"
             for ln in read_lines(path)]
    atomic_write_text(path, "".join(lines))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data_dir", type=Path)
    p.add_argument("--fs", type=int, default=16000, help="the sample rate the models read")
    p.add_argument("--audio_dir", type=Path, default=None, help="where converted audio goes")
    p.add_argument("--audio_root", type=Path, default=None, help="base of relative wav.scp paths")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    d = args.data_dir
    scps = sorted(x for x in d.glob("wav.scp*") if x.is_file() and not x.name.endswith(".tmp"))
    if not scps:
        print(f"convert_audio_dir: error: {d} has no wav.scp", file=sys.stderr)
        return 1
    if (d / "segments").is_file():
        print(f"convert_audio_dir: error: {d} has segments: convert the recordings before segmenting",
              file=sys.stderr)
        return 1
    audio_dir = args.audio_dir or d / f"audio_{args.fs}"
    audio_root = args.audio_root or find_corpus_root(d)
    backup = d / ".backup"
    counts: Counter = Counter()
    for scp in scps:
        before = scp.read_bytes()
        durations = convert_stream(d, scp, args.fs, audio_dir, audio_root, counts)
        if durations:
            backup.mkdir(exist_ok=True)
            (backup / scp.name).write_bytes(before)
            dur = d / ("utt2dur" + scp.name[len("wav.scp"):])
            if dur.is_file():
                shutil.copy2(dur, backup / dur.name)
            update_utt2dur(dur, durations)
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "no entries"
    logging.info(f"{d}: {summary}" + (f"; converted audio in {audio_dir}, originals' lists in {backup}"
                                      if any(k.startswith("converted") for k in counts) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
