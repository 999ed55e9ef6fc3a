#!/usr/bin/env python3
"""Compute a frozen pretrained frontend's frames once per recording (csst.sh stage 6).

The frontend is the one the training config names (``frontend: whisper_hf`` and its
``frontend_conf``), so the cache cannot drift from the model that reads it. Every data
directory given gets a ``feats.scp`` (+ ``feats_shape``, ``feats_info.yaml``) pointing
into ``--cache_root``; recordings already there are not computed again, and a cache made
with another checkpoint, layer or padding is refused (espnet_csst/frontends/feature_cache.py).

    python -m espnet_csst.bin.dump_frontend_feats --config conf/train_csst.yaml \\
        --cache_root dump/frames_whisper dump/raw/stageA_train dump/raw/test_st_test_cs ...
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import yaml

from espnet2.utils.nested_dict_action import NestedDictAction


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, required=True, help="training config naming the frontend")
    p.add_argument("--frontend_conf", action=NestedDictAction, default={},
                   help="overrides of the config's frontend_conf, e.g. layer=4 (as csst_train's)")
    p.add_argument("--cache_root", type=Path, required=True, help="where the frames are kept (shared)")
    p.add_argument("--batch_seconds", type=float, default=60.0, help="audio per batch, padding included")
    p.add_argument("--cpu_bf16", default="auto", choices=["auto", "true", "false"],
                   help="bf16 autocast on CPU (auto: where the CPU has bf16 units)")
    p.add_argument("--progress", default="true", choices=["true", "false"])
    p.add_argument("data_dirs", type=Path, nargs="+", help="data directories with wav.scp")
    return p


def build_frontend(config: Path, overrides: dict):
    # the cacheable entries of CSSTTask's frontend registry (importing the task costs seconds)
    from espnet_csst.frontends.whisper import WhisperFrontend

    conf = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    name = conf.get("frontend")
    cls = {"whisper_hf": WhisperFrontend}.get(name)
    if cls is None:
        raise SystemExit(f"dump_frontend_feats: error: {config} has frontend: {name}; only a frozen pretrained "
                         "frontend (whisper_hf) is cached")
    frontend = cls(**{**(conf.get("frontend_conf") or {}), **overrides})
    if not frontend.cacheable:
        raise SystemExit(f"dump_frontend_feats: error: {config}'s frontend trains all of it (finetune_top "
                         f"{frontend.finetune_top}{', pad_to_window' if frontend.pad_to_window else ''}): its frames "
                         "change in training, so they cannot be cached; train fewer blocks or feed waveforms")
    if not frontend.frozen:
        logging.info(f"the top {frontend.finetune_top} block(s) train: caching the output of the "
                     f"{frontend.cached_blocks} frozen one(s), which training runs them on")
    return frontend


def main(argv=None):
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (dump_frontend_feats) %(levelname)s: %(message)s")
    import torch

    from espnet_csst.frontends.feature_cache import FeatureCacheError, dump_frontend_feats
    from espnet_csst.models.csst_model import resolve_cpu_bf16

    missing = [d for d in args.data_dirs if not (d / "wav.scp").is_file()]
    if missing:
        print(f"dump_frontend_feats: error: no wav.scp in {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    frontend = build_frontend(args.config, args.frontend_conf)
    bf16 = resolve_cpu_bf16({"auto": "auto", "true": True, "false": False}[args.cpu_bf16])
    try:
        stats = dump_frontend_feats(frontend, args.cache_root, args.data_dirs, args.batch_seconds,
                                    torch.bfloat16 if bf16 else None, args.progress == "true")
    except FeatureCacheError as e:
        print(f"dump_frontend_feats: error: {e}", file=sys.stderr)
        return 1
    if stats["utterances"]:
        logging.info(f"computed {stats['utterances']} recordings, {stats['audio_s'] / 3600:.2f} h of audio in "
                     f"{stats['wall_s']:.0f} s ({stats['audio_s'] / max(stats['wall_s'], 1e-9):.1f}x real time, "
                     f"{torch.get_num_threads()} thread(s), bf16 {bf16})")
    else:
        logging.info(f"every recording was already in {args.cache_root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
