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
import shutil
import sys
import tempfile
import time
from pathlib import Path

from espnet_csst.synth.corpus import CorpusOptions, build_corpus, total_audio_hours
from results_md import machine, write_section


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
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nj", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = []
    for nj in args.nj:
        rows.append(measure(nj, args.seed))
        print(f"nj={nj}: {rows[-1]['wall']:.1f} s wall, {rows[-1]['hours']:.3f} h audio", flush=True)
    section = write_section("mini_corpus", table(rows, "python bench/bench_mini_corpus.py " + " ".join(sys.argv[1:])))
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
