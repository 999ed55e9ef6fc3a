#!/usr/bin/env python3
"""Extract frame features of a random portion of the utterances, to learn k-means units on (DESIGN.md 3.4).

    python -m espnet_csst.bin.dump_unit_feats --wav_scp data/s2st_train/wav.scp.es \\
        --wav_scp data/s2st_train/wav.scp.en --out_dir exp/units/feats \\
        --feature_type mfcc --feature_conf '{"stack": 4}' --portion 0.3 --seed 0

``--feature_conf`` is a JSON object with the options of the feature type
(``espnet_csst.units.features``): mfcc ``num_ceps`` ``num_mel_bins`` ``stack``
``cmvn`` ``deltas``; fbank ``num_mel_bins`` ``stack`` ``cmvn`` ``deltas``;
hf_ssl ``path`` (local model dir, required) ``layer`` ``device``.

``--portion`` of the utterances of all ``--wav_scp`` files together (1.0: all)
are drawn with ``--seed``. When several files are given, keys become
``<utt>-scp<i>`` (i: the file's position) because S2ST source and target
audio share utterance ids.

Outputs in ``--out_dir``: ``feats.ark`` + ``feats.scp`` (kaldiio),
``utt2num_frames`` and ``feature_config.json`` (what learn_kmeans stores with
the centroids). The scp is written last and atomically, after the old one is
removed, so a killed run never leaves an scp pointing at the wrong data.
Utterances whose audio is missing or unreadable are skipped with a warning
and counted in the final log line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from espnet_csst.units.audio import read_wav_scp
from espnet_csst.units.features import FEATURE_KINDS, build_feature_extractor, iter_utterance_features
from espnet_csst.utils.fileio import atomic_open, atomic_write_text


def parse_feature_conf(text: str) -> Dict:
    """The ``--feature_conf`` JSON object."""
    try:
        conf = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"--feature_conf must be a JSON object such as '{{\"stack\": 4}}': {e}") from None
    if not isinstance(conf, dict):
        raise ValueError(f"--feature_conf must be a JSON object such as '{{\"stack\": 4}}', got {text!r}")
    return conf


def gather_entries(wav_scps: List[Path]) -> List[Tuple[str, str]]:
    """All ``(key, audio)`` of the files; keys made unique per file when there are several."""
    entries = []
    for i, scp in enumerate(wav_scps):
        for utt, spec in read_wav_scp(scp):
            entries.append((f"{utt}-scp{i}" if len(wav_scps) > 1 else utt, spec))
    return entries


def choose_portion(entries: List, portion: float, seed: int) -> List:
    """A seeded random ``portion`` of ``entries`` (at least one), kept in their original order."""
    if not 0.0 < portion <= 1.0:
        raise ValueError(f"--portion must be in (0, 1], got {portion}")
    n = len(entries)
    k = max(1, int(round(portion * n))) if n else 0
    if k >= n:
        return list(entries)
    chosen = np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))
    return [entries[i] for i in chosen]


def rewrite_scp(tmp_scp: Path, tmp_ark: Path, final_ark: Path, out_scp: Path) -> None:
    """Point the scp written next to the temporary ark at the ark's final name."""
    with atomic_open(out_scp) as f:
        for line in tmp_scp.read_text(encoding="utf-8").splitlines():
            key, location = line.split(" ", 1)
            ark, offset = location.rsplit(":", 1)
            if ark != str(tmp_ark):
                raise RuntimeError(f"unexpected ark {ark!r} in {tmp_scp}")
            f.write(f"{key} {final_ark}:{offset}\n")


def dump_features(entries, extractor, out_dir: Path) -> Tuple[int, int, Counter]:
    """Write feats.ark/feats.scp/utt2num_frames in ``out_dir``; returns (utterances, frames, drops)."""
    import kaldiio

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_ark, tmp_scp = out_dir / f".feats.ark.{os.getpid()}.tmp", out_dir / f".feats.scp.{os.getpid()}.tmp"
    drops: Counter = Counter()
    num_frames: List[Tuple[str, int]] = []
    try:
        with kaldiio.WriteHelper(f"ark,scp:{tmp_ark},{tmp_scp}") as writer:
            for utt, feats in iter_utterance_features(entries, extractor, drops, desc="unit features"):
                writer(utt, feats)
                num_frames.append((utt, len(feats)))
        for name in ("feats.scp", "utt2num_frames", "feature_config.json"):
            with contextlib.suppress(FileNotFoundError):  # never leave an old scp over a new ark
                (out_dir / name).unlink()
        os.replace(tmp_ark, out_dir / "feats.ark")
        rewrite_scp(tmp_scp, tmp_ark, out_dir / "feats.ark", out_dir / "feats.scp")
    finally:
        for tmp in (tmp_ark, tmp_scp):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    atomic_write_text(out_dir / "utt2num_frames", "".join(f"{u} {n}\n" for u, n in num_frames))
    return len(num_frames), sum(n for _, n in num_frames), drops


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wav_scp", required=True, type=Path, action="append",
                   help="wav.scp (repeat the option for more files)")
    p.add_argument("--out_dir", required=True, type=Path)
    p.add_argument("--feature_type", required=True, choices=FEATURE_KINDS)
    p.add_argument("--feature_conf", default="{}", help='JSON object of feature options, e.g. \'{"stack": 4}\'')
    p.add_argument("--portion", type=float, default=1.0, help="fraction of the utterances to use (1.0: all)")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    try:
        extractor = build_feature_extractor(args.feature_type, **parse_feature_conf(args.feature_conf))
        entries = choose_portion(gather_entries(args.wav_scp), args.portion, args.seed)
    except (ValueError, FileNotFoundError) as e:
        print(f"dump_unit_feats: error: {e}", file=sys.stderr)
        return 1
    logging.info(f"{args.feature_type} features (dim {extractor.dim}, {extractor.frame_shift * 1000:g} ms frames) "
                 f"of {len(entries)} utterances -> {args.out_dir}")
    n_utts, n_frames, drops = dump_features(entries, extractor, args.out_dir)
    if n_utts == 0:
        print(f"dump_unit_feats: error: no utterance could be read ({dict(drops)}); check the paths in "
              f"{', '.join(map(str, args.wav_scp))}", file=sys.stderr)
        return 1
    atomic_write_text(args.out_dir / "feature_config.json", json.dumps(extractor.config(), indent=1) + "\n")
    dropped = sum(drops.values())
    logging.info(f"wrote {n_frames} frames of {n_utts} utterances to {args.out_dir}/feats.scp; "
                 f"dropped {dropped} utterances" + (f" ({', '.join(f'{k}: {v}' for k, v in drops.items())})"
                                                     if dropped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
