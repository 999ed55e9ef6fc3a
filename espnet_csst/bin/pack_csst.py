#!/usr/bin/env python3
"""Pack a trained CSST model into one zip (ESPnet's pack format).

The zip holds ``meta.yaml``, the training config (token list inside), the
model file, the sentencepiece model and the feature statistics; paths in the
config are rewritten when ESPnet's ``unpack`` extracts it, so

    from espnet2.main_funcs.pack_funcs import unpack
    files = unpack("packed.zip", "unpacked/")
    CSSTTask.build_model_from_file(files["csst_train_config"], files["csst_model_file"])

works anywhere. A pretrained LLM named by hub id is recorded by name (its
weights are inside the model file anyway).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from espnet2.main_funcs.pack_funcs import pack


def files_to_pack(model_dir: Path, model_file: str):
    config = model_dir / "config.yaml"
    model = model_dir / model_file
    for p in (config, model):
        if not p.is_file():
            raise FileNotFoundError(f"{p} does not exist; train the model first")
    with open(config, encoding="utf-8") as f:
        conf = yaml.safe_load(f)
    option = []
    bpemodel = conf.get("bpemodel")
    if bpemodel and Path(bpemodel).is_file():
        option.append(bpemodel)
    stats = (conf.get("normalize_conf") or {}).get("stats_file")
    if stats and Path(stats).is_file():
        option.append(stats)
    return config, model, option


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", type=Path, required=True, help="training output dir (config.yaml, *.pth)")
    p.add_argument("--model_file", default="valid.acc.best.pth")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        config, model, option = files_to_pack(args.model_dir, args.model_file)
    except FileNotFoundError as e:
        print(f"pack_csst: error: {e}", file=sys.stderr)
        return 1
    tmp = args.out.with_name(f".{args.out.stem}.tmp{args.out.suffix}")  # pack() infers the format from the suffix
    pack(files={"csst_model_file": model}, yaml_files={"csst_train_config": config}, option=option, outpath=tmp)
    tmp.replace(args.out)
    print(f"packed {model} with {config} and {', '.join(map(str, option)) or 'no extra files'} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
