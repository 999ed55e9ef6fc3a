#!/usr/bin/env python3
"""Import a CTranslate2 / faster-whisper Whisper checkpoint as a transformers Whisper directory.

Reads DIR/model.bin, config.json, tokenizer.json (and vocabulary.json or
vocabulary.txt, preprocessor_config.json when present) and writes --out, which
WhisperForConditionalGeneration.from_pretrained and
WhisperProcessor.from_pretrained load offline. The output is written next to
--out and renamed into place, so an interrupted run leaves no half directory.
Quantised (int8/int16) checkpoints are refused: convert the original model
again with `ct2-transformers-converter --quantization float16` (or float32).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from espnet2.utils.types import str2bool


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ct2_dir", type=Path, required=True, help="CTranslate2 model directory (holds model.bin)")
    p.add_argument("--out", type=Path, required=True, help="transformers Whisper directory to write")
    p.add_argument("--dtype", choices=["float16", "float32"], default=None,
                   help="dtype of the written weights (default: the checkpoint's)")
    p.add_argument("--overwrite", type=str2bool, default=False, help="replace a non-empty --out")
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    from espnet_csst.encoders.ct2_whisper import import_ct2_whisper

    try:
        import_ct2_whisper(args.ct2_dir, args.out, dtype=args.dtype, overwrite=args.overwrite)
    except (ValueError, OSError) as e:
        print(f"import_ct2_whisper: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
