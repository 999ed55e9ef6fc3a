"""k-means units: seeded learning, nearest-centroid assignment, safe save/load, deduplication."""

import numpy as np
import pytest

from espnet_csst.units.kmeans import assign_units, deduplicate, learn_kmeans, load_kmeans, save_kmeans


def blobs(n_per: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return np.concatenate([c + rng.standard_normal((n_per, 2)) * 0.3 for c in centres]).astype(np.float32)


def test_learn_is_deterministic_for_a_seed_and_finds_the_blobs():
    x = blobs()
    a = learn_kmeans(x, 3, seed=1, batch_size=64)
    b = learn_kmeans(x, 3, seed=1, batch_size=64)
    assert a.shape == (3, 2) and a.dtype == np.float32
    assert a.tobytes() == b.tobytes()
    found = sorted(map(tuple, np.round(a).astype(int).tolist()))
    assert found == [(0, 0), (0, 10), (10, 0)]


def test_learn_needs_as_many_frames_as_clusters():
    with pytest.raises(ValueError, match=r"got 5 frames for 8 clusters.*--portion.*fewer clusters"):
        learn_kmeans(np.zeros((5, 3), np.float32), 8)
    with pytest.raises(ValueError, match="NaN"):
        learn_kmeans(np.full((10, 2), np.nan, np.float32), 2)


def test_assign_picks_the_nearest_centroid_and_lowest_index_on_ties():
    centroids = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 5.0]], np.float32)
    feats = np.array([[0.9, 0.2], [-3.0, 0.0], [0.1, 4.0], [0.0, 0.0], [0.0, 100.0]], np.float32)
    units = assign_units(feats, centroids)
    assert units.dtype == np.int64
    assert units.tolist() == [0, 1, 2, 0, 2]  # (0, 0) is as far from 0 as from 1: the lower index wins
    with pytest.raises(ValueError, match="dimension 3 but the k-means centroids 2"):
        assign_units(np.zeros((4, 3), np.float32), centroids)


def test_save_load_roundtrip_without_pickle(tmp_path):
    centroids = np.arange(12, dtype=np.float32).reshape(4, 3)
    config = {"kind": "mfcc", "stack": 4, "cmvn": True, "num_ceps": 13}
    path = tmp_path / "exp" / "kmeans.npz"
    save_kmeans(path, centroids, config)
    c, conf = load_kmeans(path)
    np.testing.assert_array_equal(c, centroids)
    assert conf == config
    assert [p.name for p in path.parent.iterdir()] == ["kmeans.npz"]  # no temporary left behind
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert sorted(z.files) == ["centroids", "feature_config"]


def test_load_rejects_other_files_with_a_clear_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="learn_kmeans"):
        load_kmeans(tmp_path / "none.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="cannot read k-means model"):
        load_kmeans(tmp_path / "text.npz")
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match=r"lacks \['centroids', 'feature_config'\]"):
        load_kmeans(tmp_path / "other.npz")


def test_deduplicate_collapses_runs():
    units, lengths = deduplicate(np.array([5, 5, 7, 5, 5, 5, 2]))
    assert units.tolist() == [5, 7, 5, 2] and lengths.tolist() == [2, 1, 3, 1]
    assert units.dtype == lengths.dtype == np.int64
    empty_units, empty_lengths = deduplicate(np.array([], dtype=np.int64))
    assert empty_units.size == 0 and empty_lengths.size == 0
