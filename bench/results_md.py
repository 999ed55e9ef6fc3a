"""Shared by the benchmarks: the machine line and the marked sections of bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

from espnet_csst.utils.fileio import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


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


def header(title: str, script: str, argv, machine_extra: str = "") -> list:
    """The lines a section starts with: title, machine (+ torch and its threads), date, the command."""
    import datetime

    import torch

    return [title, "", f"- machine: {machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads"
                       + machine_extra,
            f"- date: {datetime.date.today().isoformat()}",
            f"- command: `{' '.join(['python', f'bench/{script}', *argv])}`"]


def markers(name: str):
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def write_section(name: str, body: str) -> str:
    """Replace (or append) the section ``name`` of bench/RESULTS.md; returns the section."""
    begin, end = markers(name)
    section = f"{begin}\n{body.rstrip()}\n\n{end}"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    atomic_write_text(RESULTS, text)
    return section
