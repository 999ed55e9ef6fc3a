#!/usr/bin/env python3
"""Pack a trained S2ST system into one zip: unit LM, k-means model and unit vocoder (ESPnet's pack format).

    python -m espnet_csst.bin.pack_s2st --model_dir exp/unit_lm_c --kmeans exp/units/kmeans.npz \\
        --vocoder_dir exp/vocoder --out exp/unit_lm_c/packed.zip

The zip holds ``meta.yaml``, the unit LM's training config (token list
inside) and model file, its sentencepiece model, the k-means ``.npz`` (and the
source's own, ``--src_kmeans``, for a unit LM trained with ``--n_src_units``) and the
vocoder's ``config.yaml`` + ``model.pth``. ``Speech2Speech.from_pretrained``
loads the zip, the zip unzipped, or a hub repo id with that layout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from espnet2.main_funcs.pack_funcs import pack


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", type=Path, required=True, help="unit_lm_train's output dir (config.yaml, *.pth)")
    p.add_argument("--model_file", default="valid.acc.best.pth")
    p.add_argument("--kmeans", type=Path, required=True, help="learn_kmeans' .npz")
    p.add_argument("--src_kmeans", type=Path, default=None,
                   help="the source's own k-means .npz (a unit LM trained with --n_src_units)")
    p.add_argument("--vocoder_dir", type=Path, required=True, help="train_unit_vocoder's --out_dir")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    config, model = args.model_dir / "config.yaml", args.model_dir / args.model_file
    vocoder_config, vocoder_model = args.vocoder_dir / "config.yaml", args.vocoder_dir / "model.pth"
    for path, what in ((config, "train the unit LM first"), (model, "train the unit LM first"),
                       (args.kmeans, "run the k-means stage first"), (vocoder_config, "train the vocoder first"),
                       (vocoder_model, "train the vocoder first"),
                       *([(args.src_kmeans, "run the k-means stage first")] if args.src_kmeans is not None else [])):
        if not path.is_file():
            print(f"pack_s2st: error: {path} does not exist; {what}", file=sys.stderr)
            return 1
    with open(config, encoding="utf-8") as f:
        train_conf = yaml.safe_load(f) or {}
    n_src_units = train_conf.get("n_src_units") or 0
    if n_src_units and args.src_kmeans is None:
        print(f"pack_s2st: error: {config} reads {n_src_units} source units of their own k-means; "
              "give --src_kmeans (the recipe's exp/units/src_kmeans.npz)", file=sys.stderr)
        return 1
    if not n_src_units and args.src_kmeans is not None:
        print(f"pack_s2st: error: {config} reads the target's units on the source side; "
              f"--src_kmeans {args.src_kmeans} would not be used", file=sys.stderr)
        return 1
    bpemodel = train_conf.get("bpemodel")
    option = [bpemodel] if bpemodel and Path(bpemodel).is_file() else []
    tmp = args.out.with_name(f".{args.out.stem}.tmp{args.out.suffix}")  # pack() infers the format from the suffix
    files = {"unit_lm_model_file": model, "kmeans_file": args.kmeans, "vocoder_model_file": vocoder_model}
    if args.src_kmeans is not None:
        files["src_kmeans_file"] = args.src_kmeans
    pack(files=files,
         yaml_files={"unit_lm_train_config": config, "vocoder_config": vocoder_config}, option=option, outpath=tmp)
    tmp.replace(args.out)
    src = f", {args.src_kmeans}" if args.src_kmeans is not None else ""
    print(f"packed {model}, {args.kmeans}{src} and {args.vocoder_dir} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
