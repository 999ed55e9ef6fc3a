"""Copy a data directory, making relative audio paths absolute.

    python -m espnet_csst.bin.copy_data_dir --audio_root downloads/mini_cs \\
        downloads/mini_cs/data/train_cs data/train_cs

The mini corpus stores wav.scp paths relative to its root so it can be moved;
a recipe's data/ directory uses absolute paths, as Kaldi tools expect. The
copy is written beside the destination and moved into place when complete.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from espnet_csst.data.datadir import DataDirError, read_lines
from espnet_csst.utils.fileio import atomic_open, replace_dir


def copy_data_dir(src: Path, dst: Path, audio_root: Path) -> None:
    src, dst, audio_root = Path(src), Path(dst), Path(audio_root).resolve()
    if not src.is_dir():
        raise DataDirError("not a directory", src)
    tmp = dst.parent / f".{dst.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        for path in sorted(src.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.name == "wav.scp" or path.name.startswith("wav.scp."):
                with atomic_open(tmp / path.name) as f:
                    for ln in read_lines(path):
                        f.write(f"{ln.key} {_absolute(ln.value, audio_root)}\n")
            else:
                shutil.copyfile(path, tmp / path.name)
        replace_dir(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _absolute(value: str, root: Path) -> str:
    if value.endswith("|") or Path(value).is_absolute():
        return value  # a command or an absolute path is kept as it is
    return str(root / value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--audio_root", type=Path, required=True,
                        help="directory that relative wav.scp paths are relative to")
    args = parser.parse_args(argv)
    try:
        copy_data_dir(args.src, args.dst, args.audio_root)
    except DataDirError as e:
        print(f"copy_data_dir: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
