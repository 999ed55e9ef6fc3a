"""Builders for miniature corpora in the upstream release formats, and helpers to run
a recipe's local/data.sh against them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
import soundfile

from espnet_csst.data.validate import validate

REPO = Path(__file__).resolve().parents[2]

#: Common Voice 4 (cv-corpus-4-2019-12-10) validated.tsv header.
CV4_HEADER = ["client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender", "accent"]


def tone(seconds: float, rate: int, channels: int = 1, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    chans = [0.3 * np.sin(2 * np.pi * freq * (i + 1) * t) for i in range(channels)]
    return np.stack(chans, axis=1).astype("float32") if channels > 1 else chans[0].astype("float32")


def write_mp3(path: Path, seconds: float, rate: int = 48000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), tone(seconds, rate), rate, format="MP3")


def write_tsv(path: Path, header: Optional[Sequence[str]], rows: Iterable[Sequence[str]]) -> None:
    """Fields joined by tabs exactly as given (no quoting: the release files have none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (["\t".join(header)] if header else []) + ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_common_voice(root: Path, lang: str, clips: List[tuple]) -> Path:
    """A Common Voice 4 release of ``lang`` under ``root/<lang>``: ``clips`` holds
    ``(client_id, clip name, sentence, seconds)``; seconds None writes no audio file,
    0 an empty one; rows with client_id None are left out of validated.tsv."""
    d = root / lang
    (d / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for client_id, name, sentence, seconds in clips:
        if seconds == 0:
            (d / "clips" / name).write_bytes(b"")
        elif seconds is not None:
            write_mp3(d / "clips" / name, seconds)
        if client_id is not None:
            rows.append([client_id, name, sentence, "2", "0", "", "", ""])
    write_tsv(d / "validated.tsv", CV4_HEADER, rows)
    return d


def read_kv(path: Path) -> Dict[str, str]:
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(" ")
        out[key] = value
    return out


def keys(path: Path) -> List[str]:
    return [ln.split(" ", 1)[0] for ln in Path(path).read_text(encoding="utf-8").splitlines()]


def assert_valid(data_dir: Path) -> dict:
    problems, stats = validate(data_dir)
    assert not problems, "\n".join(str(p) for p in problems)
    return stats


def assert_sorted_files(data_dir: Path) -> None:
    for f in Path(data_dir).iterdir():
        if f.is_file():
            ks = keys(f)
            assert ks == sorted(ks, key=lambda k: k.encode()), f"{f} is not sorted"



def run_data_sh(recipe: str, workdir: Path, db: Dict[str, str], *args: str,
                path_prepend: Sequence[Path] = ()) -> subprocess.CompletedProcess:
    """Run ``egs2/<recipe>/local/data.sh`` in ``workdir`` (a scratch recipe dir with a
    db.sh pointing at the fixture and links to the recipe's path.sh and scripts/)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "db.sh").write_text("".join(f'{k}="{v}"\n' for k, v in db.items()))
    for name in ("path.sh", "scripts"):
        link = workdir / name
        if not link.exists():
            link.symlink_to(REPO / "egs2" / recipe / name)
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    for k in ("COMMONVOICE", "COVOST2", "CVSS", "FISHER_SPANISH_SPEECH",
              "FISHER_SPANISH_TRANSCRIPTS", "FISHER_CALLHOME_TRANSLATIONS", "FISHER_CS_SPLITS"):
        env.pop(k, None)
    env["PATH"] = os.pathsep.join([*map(str, path_prepend), str(Path(sys.executable).parent),
                                   env.get("PATH", "")])
    return subprocess.run(
        ["bash", str(REPO / "egs2" / recipe / "local" / "data.sh"), *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=120,
    )
