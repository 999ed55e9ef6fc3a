"""Drop inconsistent utterances from a data directory, reporting each one.

    python -m espnet_csst.bin.fix_data_dir data/train_cs

Keeps the first of duplicated ids, drops utterances missing from any
per-utterance file or flagged by validate_data_dir (empty transcript, bad
word_ali, missing or empty audio, ...), sorts every file, rebuilds spk2utt.
The original files are kept in ``<dir>/.backup/``; the list of dropped
utterances and reasons goes to ``<dir>/.backup/dropped.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espnet_csst.data.datadir import DataDirError
from espnet_csst.data.validate import fix, write_report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--audio_root", type=Path, default=None)
    parser.add_argument("--no_audio", action="store_true", help="do not open audio files")
    args = parser.parse_args(argv)
    try:
        dropped = fix(args.data_dir, args.audio_root, check_audio=not args.no_audio)
    except DataDirError as e:
        print(f"fix_data_dir: error: {e}", file=sys.stderr)
        return 1
    for utt, reason in sorted(dropped.items()):
        print(f"dropped {utt}: {reason}")
    write_report(args.data_dir / ".backup" / "dropped.json", dropped)
    print(f"{args.data_dir}: dropped {len(dropped)} utterance(s); originals in {args.data_dir}/.backup/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
