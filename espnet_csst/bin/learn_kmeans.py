#!/usr/bin/env python3
"""Learn k-means speech units on features from dump_unit_feats (DESIGN.md 3.4).

    python -m espnet_csst.bin.learn_kmeans --feats_scp exp/units/feats/feats.scp \\
        --n_clusters 100 --out exp/units/kmeans.npz --seed 0 --max_frames 500000

At most ``--max_frames`` frames (a seeded uniform sample over all frames when
there are more) are clustered with mini-batch k-means. The output ``.npz``
holds the centroids and the feature config (``feature_config.json`` next to
the scp unless ``--feature_config`` says otherwise), so dump_units extracts
the same features. The inertia of the training frames is logged, and
``<out stem>_sizes.png`` (``kmeans_sizes.png`` for ``kmeans.npz``) shows the
frames per cluster, largest first, to reveal dead or huge clusters.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from espnet_csst.units.kmeans import learn_kmeans, nearest_centroids, save_kmeans
from espnet_csst.utils.fileio import atomic_savefig


def read_num_frames(feats_scp: Path) -> Optional[Dict[str, int]]:
    """``utt2num_frames`` next to the scp (written by dump_unit_feats), or None when absent."""
    path = feats_scp.parent / "utt2num_frames"
    if not path.is_file():
        return None
    return {k: int(v) for k, v in (line.split() for line in path.read_text(encoding="utf-8").splitlines() if line)}


def load_frames(feats_scp: Path, max_frames: int, seed: int) -> np.ndarray:
    """All frames of the scp, or a seeded sample of ``max_frames`` of them, as one (N, D) array.

    The sample is drawn over global frame indices, so it needs the frame counts
    first (utt2num_frames, or one reading pass) and then keeps only the chosen
    frames of each utterance: memory stays at ``max_frames`` rows.
    """
    import kaldiio

    keys = [line.split(" ", 1)[0] for line in feats_scp.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not keys:
        raise ValueError(f"{feats_scp} is empty; run dump_unit_feats on audio that can be read")
    lengths = read_num_frames(feats_scp)
    if lengths is None or any(k not in lengths for k in keys):
        lengths = {k: len(m) for k, m in kaldiio.load_scp_sequential(str(feats_scp))}
    total = sum(lengths[k] for k in keys)
    chosen = None
    if total > max_frames:
        chosen = np.sort(np.random.default_rng(seed).choice(total, size=max_frames, replace=False))
        logging.info(f"sampling {max_frames} of {total} frames (seed {seed})")
    parts, offset = [], 0
    for key, mat in kaldiio.load_scp_sequential(str(feats_scp)):
        if len(mat) != lengths[key]:
            raise ValueError(f"{feats_scp}: {key} has {len(mat)} frames but utt2num_frames says {lengths[key]}; "
                             "re-run dump_unit_feats")
        if chosen is None:
            parts.append(mat)
        else:
            lo, hi = np.searchsorted(chosen, [offset, offset + len(mat)])
            parts.append(mat[chosen[lo:hi] - offset])
        offset += len(mat)
    return np.concatenate(parts).astype(np.float32, copy=False)


def plot_sizes(sizes: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.sort(sizes)[::-1]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(np.arange(len(order)), order, width=1.0, color="tab:blue")
    ax.axhline(sizes.mean(), color="k", ls="--", lw=1, label=f"mean {sizes.mean():.0f}")
    ax.set_xlabel("cluster (sorted by size)")
    ax.set_ylabel("training frames")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--feats_scp", required=True, type=Path, help="feats.scp from dump_unit_feats")
    p.add_argument("--n_clusters", required=True, type=int, help="number of units K")
    p.add_argument("--out", required=True, type=Path, help="output .npz (centroids + feature config)")
    p.add_argument("--feature_config", type=Path, default=None,
                   help="feature_config.json (default: next to --feats_scp)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max_frames", type=int, default=500000, help="subsample (seeded) to at most this many frames")
    p.add_argument("--batch_size", type=int, default=10000, help="mini-batch size of MiniBatchKMeans")
    p.add_argument("--max_iter", type=int, default=100)
    p.add_argument("--n_init", type=int, default=3)
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    config_path = args.feature_config or args.feats_scp.parent / "feature_config.json"
    try:
        for path, what in ((args.feats_scp, "--feats_scp"), (config_path, "feature config")):
            if not path.is_file():
                raise FileNotFoundError(f"{what} {path} not found; run espnet_csst.bin.dump_unit_feats first")
        feature_config = json.loads(config_path.read_text(encoding="utf-8"))
        if not isinstance(feature_config, dict) or "kind" not in feature_config:
            raise ValueError(f"{config_path} is not a feature config (a JSON object with 'kind')")
        if args.max_frames < 1:
            raise ValueError(f"--max_frames must be positive, got {args.max_frames}")
        feats = load_frames(args.feats_scp, args.max_frames, args.seed)
        logging.info(f"k-means with {args.n_clusters} clusters on {len(feats)} frames of dim {feats.shape[1]}")
        centroids = learn_kmeans(feats, args.n_clusters, seed=args.seed, batch_size=args.batch_size,
                                 max_iter=args.max_iter, n_init=args.n_init)
    except (ValueError, FileNotFoundError) as e:
        print(f"learn_kmeans: error: {e}", file=sys.stderr)
        return 1
    save_kmeans(args.out, centroids, feature_config)
    units, dist = nearest_centroids(feats, centroids)
    sizes = np.bincount(units, minlength=args.n_clusters)
    dead = int((sizes == 0).sum())
    inertia = float(dist.sum())
    logging.info(f"inertia {inertia:.6g} ({inertia / len(feats):.4g} per frame); {dead} empty clusters; "
                 f"largest cluster {sizes.max() / len(feats):.1%} of the frames")
    png = args.out.with_name(f"{args.out.stem}_sizes.png")
    plot_sizes(sizes, png, f"{args.out.name}: {args.n_clusters} clusters, {len(feats)} frames, {dead} empty, "
                           f"inertia/frame {inertia / len(feats):.3g}")
    logging.info(f"wrote {args.out} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
