"""Check a Kaldi-style data directory against Kaldi's and espnet_csst's invariants.

    python -m espnet_csst.bin.validate_data_dir data/train_cs [data/dev_cs ...]

Exit status 0 when every directory is valid; otherwise each problem is printed
as ``file:line: utterance 'id': what is wrong; how to fix it`` and the status
is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espnet_csst.data.datadir import DataDirError
from espnet_csst.data.validate import validate

MAX_SHOWN = 50


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dirs", nargs="+", type=Path)
    parser.add_argument("--audio_root", type=Path, default=None,
                        help="resolve relative wav.scp paths against this directory "
                             "(default: the working directory, then the corpus root marked by corpus.json)")
    parser.add_argument("--no_audio", action="store_true",
                        help="do not open audio files (faster; durations come from utt2dur only)")
    parser.add_argument("--fs", type=int, default=0,
                        help="the sample rate the audio must have, mono, e.g. 16000 for the dumps the models "
                             "read (default 0: any; data/ keeps the corpus's own audio)")
    return parser


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    status = 0
    for d in args.data_dirs:
        try:
            problems, stats = validate(d, args.audio_root, check_audio=not args.no_audio, fs=args.fs or None)
        except DataDirError as e:
            print(f"ERROR {e}", file=sys.stderr)
            status = 1
            continue
        for p in problems[:MAX_SHOWN]:
            print(f"ERROR {p}", file=sys.stderr)
        if len(problems) > MAX_SHOWN:
            print(f"... and {len(problems) - MAX_SHOWN} more problems", file=sys.stderr)
        if problems:
            print(f"{d}: INVALID ({len(problems)} problems)", file=sys.stderr)
            status = 1
        else:
            print(f"{d}: OK ({stats['utterances']} utterances, {stats['speakers']} speakers, "
                  f"{stats['hours']:.3f} h)")
    return status


if __name__ == "__main__":
    sys.exit(main())
