#!/usr/bin/env python3
"""Pack a trained CSST model into one zip (ESPnet's pack format).

The zip holds ``meta.yaml``, the training config (token list inside), the
model file, the sentencepiece model and the feature statistics; paths in the
config are rewritten when ESPnet's ``unpack`` extracts it, so

    from espnet2.main_funcs.pack_funcs import unpack
    files = unpack("packed.zip", "unpacked/")
    CSSTTask.build_model_from_file(files["csst_train_config"], files["csst_model_file"])

works anywhere. A pretrained LLM named by hub id is recorded by name (its
weights are inside the model file anyway). A pretrained Whisper (the ``whisper_hf``
frontend or encoder) is named in the config by a path that exists only on the
training machine (``pretrained/whisper_base``): the packed config describes it by
its architecture instead (``config:``), and its weights come from the model file, so
the packed model takes waveforms on any machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from espnet2.main_funcs.pack_funcs import pack

WHISPER_ROLES = ("frontend", "encoder")  # roles whose whisper_hf class loads a checkpoint by path


def self_contained(conf: dict) -> dict:
    """The config with every pretrained Whisper described by its architecture, not its path."""
    from transformers import WhisperConfig

    conf = dict(conf)
    for role in WHISPER_ROLES:
        role_conf = dict(conf.get(f"{role}_conf") or {})
        if conf.get(role) != "whisper_hf" or not role_conf.get("model_name_or_path"):
            continue
        path = role_conf.pop("model_name_or_path")
        local = Path(path).expanduser().exists()
        role_conf["config"] = WhisperConfig.from_pretrained(path, local_files_only=local).to_diff_dict()
        conf[f"{role}_conf"] = role_conf
    return conf


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
    conf = yaml.safe_load(config.read_text(encoding="utf-8"))
    packed_conf = self_contained(conf)
    if packed_conf != conf:
        # beside the original, so its path is as relative as the model's (ESPnet's unpack rewrites
        # the config's file paths only for configs stored under a relative name)
        config = args.model_dir / "packed_config" / "config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(yaml.safe_dump(packed_conf, allow_unicode=True, sort_keys=False), encoding="utf-8")
    pack(files={"csst_model_file": model}, yaml_files={"csst_train_config": config}, option=option, outpath=tmp)
    tmp.replace(args.out)
    print(f"packed {model} with {config} and {', '.join(map(str, option)) or 'no extra files'} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
