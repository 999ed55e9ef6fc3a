"""k-means speech units: learn centroids, store them safely, assign frames to units.

The model is only its centroids ``(K, D)`` plus the feature configuration they
were learned on (:mod:`espnet_csst.units.features`), kept together in one
``.npz`` (no pickle: the config is a JSON string) so dumping units later
rebuilds exactly the same features.

Learning uses scikit-learn's ``MiniBatchKMeans`` (seeded, so reproducible).
Assignment is done here rather than with ``MiniBatchKMeans.predict`` because the
model is not kept as a scikit-learn object (that would need pickle) and
because it must be bitwise reproducible: squared Euclidean distances in float64
with ties going to the lowest cluster index.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

from espnet_csst.utils.fileio import atomic_open

#: Rows per block when computing distances, so (rows x K) float64 stays small.
_ASSIGN_BLOCK = 8192


def _check_feats(feats: np.ndarray, what: str = "features") -> np.ndarray:
    x = np.asarray(feats)
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (frames, dim) array, got shape {x.shape}")
    if x.size and not np.isfinite(x).all():
        raise ValueError(f"{what} contain NaN or inf values; check the feature extraction of the input audio")
    return x


def learn_kmeans(feats: np.ndarray, n_clusters: int, seed: int = 0, batch_size: int = 10000,
                 max_iter: int = 100, n_init: int = 3) -> np.ndarray:
    """Centroids ``(n_clusters, D)`` float32 of ``feats`` ``(N, D)`` by mini-batch k-means."""
    from sklearn.cluster import MiniBatchKMeans

    x = _check_feats(feats)
    if n_clusters < 1:
        raise ValueError(f"n_clusters must be at least 1, got {n_clusters}")
    if len(x) < n_clusters:
        raise ValueError(f"k-means needs at least as many frames as clusters: got {len(x)} frames for "
                         f"{n_clusters} clusters; extract more audio (a larger --portion) or use fewer clusters")
    km = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, batch_size=min(batch_size, len(x)),
                         max_iter=max_iter, n_init=n_init, compute_labels=False)
    km.fit(x.astype(np.float32, copy=False))
    return km.cluster_centers_.astype(np.float32)


def nearest_centroids(feats: np.ndarray, centroids: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(index (T,) int64, squared distance (T,) float64)`` of each frame's nearest centroid."""
    x = _check_feats(feats)
    c = _check_feats(centroids, "centroids").astype(np.float64)
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"features have dimension {x.shape[1]} but the k-means centroids {c.shape[1]}; "
                         "dump the units with the feature config stored in the k-means model")
    c_sq = (c * c).sum(1)
    index = np.empty(len(x), dtype=np.int64)
    dist = np.empty(len(x), dtype=np.float64)
    for start in range(0, len(x), _ASSIGN_BLOCK):
        block = x[start:start + _ASSIGN_BLOCK].astype(np.float64)
        d = (block * block).sum(1)[:, None] - 2.0 * block @ c.T + c_sq[None]
        index[start:start + len(block)] = d.argmin(1)  # argmin returns the first (lowest) index on ties
        dist[start:start + len(block)] = np.maximum(d.min(1), 0.0)
    return index, dist


def assign_units(feats: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The unit (nearest centroid, squared Euclidean; ties -> lowest index) of every frame, ``(T,)`` int64."""
    return nearest_centroids(feats, centroids)[0]


def deduplicate(units: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Collapse runs of a repeated unit: ``([5, 5, 7, 5]) -> ([5, 7, 5], [2, 1, 1])``."""
    u = np.asarray(units, dtype=np.int64).reshape(-1)
    if u.size == 0:
        return u, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], u[1:] != u[:-1]]))
    lengths = np.diff(np.concatenate([starts, [u.size]]))
    return u[starts], lengths.astype(np.int64)


def save_kmeans(path, centroids: np.ndarray, feature_config: Dict) -> None:
    """Write ``path`` (.npz): ``centroids`` (K, D) float32 and ``feature_config`` as JSON text; atomic."""
    c = _check_feats(centroids, "centroids").astype(np.float32)
    config = np.array(json.dumps(feature_config, sort_keys=True))
    with atomic_open(path, "wb") as f:
        np.savez(f, centroids=c, feature_config=config)


def load_kmeans(path) -> Tuple[np.ndarray, Dict]:
    """``(centroids (K, D) float32, feature_config dict)`` from a file written by :func:`save_kmeans`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"k-means model {path} not found; train it with "
                                "`python -m espnet_csst.bin.learn_kmeans`")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not hasattr(loaded, "files"):  # a bare .npy array
            raise ValueError("not an .npz archive")
        with loaded as z:
            arrays = {name: z[name] for name in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:  # not an npz, or one holding pickled objects
        raise ValueError(f"cannot read k-means model {path}: {e}; re-run learn_kmeans") from None
    missing = {"centroids", "feature_config"} - set(arrays)
    if missing:
        raise ValueError(f"{path} is not a k-means model from learn_kmeans: it lacks {sorted(missing)}")
    centroids = arrays["centroids"].astype(np.float32)
    try:
        config = json.loads(str(arrays["feature_config"]))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: the stored feature config is not JSON ({e}); re-run learn_kmeans") from None
    if centroids.ndim != 2 or not isinstance(config, dict) or "kind" not in config:
        raise ValueError(f"{path}: malformed k-means model (centroids {centroids.shape}, config {config!r}); "
                         "re-run learn_kmeans")
    return centroids, config


__all__ = ["assign_units", "deduplicate", "learn_kmeans", "load_kmeans", "nearest_centroids", "save_kmeans"]
