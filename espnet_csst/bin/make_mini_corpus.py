"""Generate the embedded mini code-switch corpus (no download).

    python -m espnet_csst.bin.make_mini_corpus --out downloads/mini_cs --seed 0 --nj 2
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

from espnet_csst.synth.corpus import (
    CorpusError, CorpusOptions, build_corpus, format_summary, total_audio_hours,
)
from espnet_csst.synth.grammar import available_pairs


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="output corpus directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pair", default="es-en", help=f"language pair: {', '.join(available_pairs())}")
    parser.add_argument("--nj", type=int, default=1, help="parallel synthesis processes")
    defaults = CorpusOptions()
    for f in dataclasses.fields(CorpusOptions):
        if f.name.startswith("n_"):
            parser.add_argument(
                f"--{f.name}", type=int, default=getattr(defaults, f.name) if f.name != "n_train_cs" else None,
                help="utterances" + (" (default: n_train_mono / 5)" if f.name == "n_train_cs" else ""),
            )
    return parser


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    sizes = {k: v for k, v in vars(args).items() if k.startswith("n_")}
    start = time.time()
    try:
        if args.pair not in available_pairs():
            raise CorpusError(f"unknown --pair {args.pair!r}; available: {', '.join(available_pairs())}")
        opts = CorpusOptions(pair=args.pair, seed=args.seed, **sizes)
        stats = build_corpus(args.out, opts, nj=args.nj)
    except CorpusError as e:
        print(f"make_mini_corpus: error: {e}", file=sys.stderr)
        return 2
    elapsed = time.time() - start
    hours = total_audio_hours(stats)
    print(format_summary(stats))
    print(f"\n{args.out}: {hours:.3f} h of audio (source and S2ST target speech) in {elapsed:.1f} s wall "
          f"({hours / (elapsed / 60):.2f} audio hours per wall minute, nj={args.nj})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
