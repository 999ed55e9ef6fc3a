"""Benchmark: generation speed of the default-size mini corpus.

    python bench/bench_mini_corpus.py [--nj 1 2] [--seed 0]

Generates the default corpus once per --nj value into a temporary directory,
and writes a markdown table (wall time, audio hours, audio hours per wall
minute, speed-up over the first --nj value) into bench/RESULTS.md between
the ``mini_corpus`` markers, with machine, date and command.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from espnet_csst.synth.corpus import CorpusOptions, build_corpus, total_audio_hours
from espnet_csst.utils.fileio import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- mini_corpus:begin -->", "<!-- mini_corpus:end -->"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def measure(nj: int, seed: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench_corpus_"))
    try:
        start = time.perf_counter()
        stats = build_corpus(tmp / "corpus", CorpusOptions(seed=seed), nj=nj)
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    hours = total_audio_hours(stats)
    utts = sum(s["utterances"] for s in stats.values())
    return {"nj": nj, "wall": wall, "hours": hours, "utts": utts}


def table(rows, command: str) -> str:
    base = rows[0]["wall"]
    lines = [
        BEGIN,
        "## Mini corpus generation (default size)",
        "",
        f"- machine: {machine()}",
        f"- date: {datetime.date.today().isoformat()}",
        f"- command: `{command}`",
        "",
        "| --nj | utterances | audio hours (incl. S2ST targets) | wall (s) | audio hours / wall minute | speed-up vs first |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['nj']} | {r['utts']} | {r['hours']:.3f} | {r['wall']:.1f} | "
            f"{r['hours'] / (r['wall'] / 60):.3f} | {base / r['wall']:.2f}x |"
        )
    return "\n".join(lines + ["", END])


def write_section(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    atomic_write_text(RESULTS, text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nj", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = []
    for nj in args.nj:
        rows.append(measure(nj, args.seed))
        print(f"nj={nj}: {rows[-1]['wall']:.1f} s wall, {rows[-1]['hours']:.3f} h audio", flush=True)
    section = table(rows, "python bench/bench_mini_corpus.py " + " ".join(sys.argv[1:]))
    write_section(section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
