"""dump_unit_feats -> learn_kmeans -> dump_units on tiny generated audio, run in-process."""

import json
import logging
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile

from espnet_csst.bin import dump_unit_feats, dump_units, learn_kmeans
from espnet_csst.bin.dump_units import word_unit_spans
from espnet_csst.data.datadir import WordAli
from espnet_csst.units.features import build_feature_extractor
from espnet_csst.units.kmeans import deduplicate, load_kmeans

K = 6


def tone_steps(freqs, seconds_each: float, fs: int) -> np.ndarray:
    """Piecewise-constant tones: the units change where the pitch does, and repeat inside a tone."""
    t = np.arange(int(seconds_each * fs)) / fs
    rng = np.random.default_rng(len(freqs))
    parts = [0.3 * np.sin(2 * np.pi * f * t) + 0.003 * rng.standard_normal(len(t)) for f in freqs]
    return np.concatenate(parts).astype(np.float32)


@pytest.fixture()
def audio(tmp_path) -> Path:
    d = tmp_path / "audio"
    d.mkdir()
    soundfile.write(d / "u1.flac", tone_steps([200, 800, 2000], 0.4, 16000), 16000)
    soundfile.write(d / "u2.flac", tone_steps([2000, 200], 0.3, 16000), 16000)
    stereo = tone_steps([800, 3000, 200], 0.4, 22050)
    soundfile.write(d / "u3.flac", np.stack([stereo, stereo * 0.5], axis=1), 22050)
    scp = tmp_path / "wav.scp"
    scp.write_text("".join(f"{u} {d}/{u}.flac\n" for u in ("u1", "u2", "u3")) + f"u4 {d}/missing.flac\n")
    return scp


def read_text(path: Path) -> dict:
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
    return {r[0]: r[1:] for r in rows}


@pytest.fixture()
def kmeans_model(tmp_path, audio) -> Path:
    feats_dir = tmp_path / "feats"
    assert dump_unit_feats.main(["--wav_scp", str(audio), "--out_dir", str(feats_dir), "--feature_type", "mfcc",
                                 "--feature_conf", '{"stack": 4, "num_ceps": 13}']) == 0
    out = tmp_path / "exp" / "kmeans.npz"
    assert learn_kmeans.main(["--feats_scp", str(feats_dir / "feats.scp"), "--n_clusters", str(K),
                              "--out", str(out), "--seed", "0"]) == 0
    return out


def test_dump_unit_feats_writes_readable_features_and_skips_bad_audio(tmp_path, audio, caplog):
    caplog.set_level(logging.INFO)
    out = tmp_path / "feats"
    assert dump_unit_feats.main(["--wav_scp", str(audio), "--out_dir", str(out), "--feature_type", "fbank",
                                 "--feature_conf", '{"stack": 2, "num_mel_bins": 20}']) == 0
    feats = dict(kaldiio.load_scp(str(out / "feats.scp")))
    assert sorted(feats) == ["u1", "u2", "u3"]  # u4's audio is missing
    ext = build_feature_extractor("fbank", stack=2, num_mel_bins=20)
    assert feats["u1"].shape == (ext.frames_for_duration(int(1.2 * 16000), 16000), 20)
    assert feats["u3"].shape[0] == ext.frames_for_duration(int(1.2 * 22050), 22050)
    assert read_text(out / "utt2num_frames") == {u: [str(len(m))] for u, m in feats.items()}
    assert json.loads((out / "feature_config.json").read_text()) == ext.config()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left
    assert "missing.flac" in caplog.text and "dropped 1 utterances (unreadable audio: 1)" in caplog.text


def test_portion_is_seeded_and_several_scps_get_distinct_keys(tmp_path, audio):
    def keys(seed: int, name: str):
        out = tmp_path / name
        assert dump_unit_feats.main(["--wav_scp", str(audio), "--wav_scp", str(audio), "--out_dir", str(out),
                                     "--feature_type", "mfcc", "--portion", "0.5", "--seed", str(seed)]) == 0
        return sorted(read_text(out / "feats.scp"))

    first = keys(3, "a")
    assert keys(3, "b") == first
    # 8 entries (4 utterances x 2 files), half drawn; keys carry the file position
    assert 1 <= len(first) <= 4 and all(k.endswith(("-scp0", "-scp1")) for k in first)
    assert dump_unit_feats.main(["--wav_scp", str(audio), "--out_dir", str(tmp_path / "c"),
                                 "--feature_type", "mfcc", "--portion", "1.5"]) == 1
    assert dump_unit_feats.main(["--wav_scp", str(audio), "--out_dir", str(tmp_path / "c"),
                                 "--feature_type", "mfcc", "--feature_conf", "stack=4"]) == 1


def test_learn_kmeans_writes_model_and_size_plot(tmp_path, kmeans_model, caplog):
    caplog.set_level(logging.INFO)
    centroids, config = load_kmeans(kmeans_model)
    assert centroids.shape == (K, 39) and config["kind"] == "mfcc" and config["stack"] == 4
    png = kmeans_model.with_name("kmeans_sizes.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the same features and seed give the same centroids; the log reports the inertia
    again = tmp_path / "again.npz"
    assert learn_kmeans.main(["--feats_scp", str(tmp_path / "feats" / "feats.scp"), "--n_clusters", str(K),
                              "--out", str(again), "--seed", "0"]) == 0
    assert load_kmeans(again)[0].tobytes() == centroids.tobytes()
    assert "inertia" in caplog.text and again.with_name("again_sizes.png").is_file()


def test_learn_kmeans_too_few_frames_is_a_clear_error(tmp_path, audio, capsys):
    feats_dir = tmp_path / "feats"
    assert dump_unit_feats.main(["--wav_scp", str(audio), "--out_dir", str(feats_dir),
                                 "--feature_type", "mfcc"]) == 0
    assert learn_kmeans.main(["--feats_scp", str(feats_dir / "feats.scp"), "--n_clusters", "5000",
                              "--out", str(tmp_path / "k.npz")]) == 1
    assert "for 5000 clusters" in capsys.readouterr().err
    assert not (tmp_path / "k.npz").exists()


def test_learn_kmeans_subsamples_frames_with_the_seed(tmp_path, audio):
    feats_dir = tmp_path / "feats"
    assert dump_unit_feats.main(["--wav_scp", str(audio), "--out_dir", str(feats_dir),
                                 "--feature_type", "mfcc"]) == 0
    frames = learn_kmeans.load_frames(feats_dir / "feats.scp", max_frames=20, seed=1)
    assert frames.shape == (20, 39)
    np.testing.assert_array_equal(frames, learn_kmeans.load_frames(feats_dir / "feats.scp", 20, 1))
    everything = np.concatenate([m for _, m in kaldiio.load_scp_sequential(str(feats_dir / "feats.scp"))])
    assert all((everything == row).all(1).any() for row in frames)  # real frames, not averages
    assert len(learn_kmeans.load_frames(feats_dir / "feats.scp", 10**6, 1)) == len(everything)


def test_dump_units_format_determinism_and_bad_audio(tmp_path, audio, kmeans_model, caplog):
    caplog.set_level(logging.INFO)
    out1, out2 = tmp_path / "units1", tmp_path / "units2"
    for out in (out1, out2):
        assert dump_units.main(["--kmeans", str(kmeans_model), "--wav_scp", str(audio), "--out", str(out)]) == 0
    assert out1.read_bytes() == out2.read_bytes()
    units = read_text(out1)
    assert sorted(units) == ["u1", "u2", "u3"]
    ext = build_feature_extractor(**load_kmeans(kmeans_model)[1])
    assert len(units["u1"]) == ext.frames_for_duration(int(1.2 * 16000), 16000)
    values = {int(u) for seq in units.values() for u in seq}
    assert values <= set(range(K)) and len(values) > 2
    assert "dropped 1 utterances (unreadable audio: 1)" in caplog.text


def test_dedup_and_word_frames(tmp_path, audio, kmeans_model, caplog):
    caplog.set_level(logging.INFO)
    ali = tmp_path / "word_ali"
    # u1: three words on the three tones; the second overlaps the first by 0.1 s. u2 has no alignment.
    ali.write_text("u1 0.000 0.400 low en\nu1 0.300 0.800 mid en\nu1 0.800 5.000 high en\n"
                   "u3 0.050 0.410 a en\nu3 0.420 1.190 b en\n")
    plain, deduped = tmp_path / "units", tmp_path / "units_dedup"
    wf_plain, wf_dedup = tmp_path / "wf", tmp_path / "wf_dedup"
    durations = tmp_path / "durations"
    for out, wf, dedup in ((plain, wf_plain, "false"), (deduped, wf_dedup, "true")):
        extra = ["--out_durations", str(durations)] if dedup == "true" else []
        assert dump_units.main(["--kmeans", str(kmeans_model), "--wav_scp", str(audio), "--out", str(out),
                                "--word_ali", str(ali), "--out_word_frames", str(wf), "--dedup", dedup,
                                *extra]) == 0
    plain_units = {u: np.array(list(map(int, s))) for u, s in read_text(plain).items()}
    dedup_units = {u: list(map(int, s)) for u, s in read_text(deduped).items()}
    runs = {u: list(map(int, s)) for u, s in read_text(durations).items()}
    for utt, seq in plain_units.items():
        assert dedup_units[utt] == deduplicate(seq)[0].tolist()
        # the run lengths give the frame-level units back
        assert np.repeat(dedup_units[utt], runs[utt]).tolist() == seq.tolist()
        assert all(a != b for a, b in zip(dedup_units[utt], dedup_units[utt][1:]))

    # without dedup: 40 ms frames, round(t / 0.04), overlap moved to the previous end, clamped at the end
    spans = read_text(wf_plain)
    assert sorted(spans) == ["u1", "u3"]
    n1 = len(plain_units["u1"])
    assert spans["u1"] == ["0", "10", "low", "10", "20", "mid", "20", str(n1), "high"]
    assert "1 overlapping word starts moved" in caplog.text and "1 utterances had no word alignment" in caplog.text

    # with dedup: each boundary maps through the run lengths; spans stay ordered and within the sequence
    for utt, fields in read_text(wf_dedup).items():
        _, runs = deduplicate(plain_units[utt])
        run_starts = np.cumsum(runs) - runs
        plain_bounds = [int(x) for i, x in enumerate(read_text(wf_plain)[utt]) if i % 3 != 2]
        dedup_bounds = [int(x) for i, x in enumerate(fields) if i % 3 != 2]
        assert dedup_bounds == [int(np.searchsorted(run_starts, b)) for b in plain_bounds]
        assert dedup_bounds == sorted(dedup_bounds) and 0 <= dedup_bounds[0]
        assert dedup_bounds[-1] <= len(dedup_units[utt])


def test_word_unit_spans_hand_made():
    words = [WordAli(0.0, 0.10, "a", "en"), WordAli(0.10, 0.25, "b", "en"), WordAli(0.2, 0.3, "c", "en"),
             WordAli(0.3, 9.0, "d", "en")]
    # frames of 0.05 s: boundaries 0, 2, 5, (4 -> 5 after the overlap fix), 6, 10 -> clamped to 8
    spans, fixed = word_unit_spans(words, 0.05, 8)
    assert spans == [(0, 2, "a"), (2, 5, "b"), (5, 6, "c"), (6, 8, "d")] and fixed == 1
    # units 7 7 3 3 3 9 1 1 -> runs of 2, 3, 1, 2 starting at frames 0, 2, 5, 6
    # (c's start, frame 4, falls in the run b ends with: no overlap left among the deduplicated units)
    spans, fixed = word_unit_spans(words, 0.05, 8, run_lengths=np.array([2, 3, 1, 2]))
    assert spans == [(0, 1, "a"), (1, 2, "b"), (2, 3, "c"), (3, 4, "d")] and fixed == 0
    # a boundary inside a run: the run goes to the word holding its first frame
    spans, _ = word_unit_spans([WordAli(0.0, 0.15, "x", "en"), WordAli(0.15, 0.4, "y", "en")], 0.05, 8,
                               run_lengths=np.array([2, 3, 1, 2]))
    assert spans == [(0, 2, "x"), (2, 4, "y")]


def test_dump_units_errors(tmp_path, audio, kmeans_model, capsys):
    assert dump_units.main(["--kmeans", str(tmp_path / "nope.npz"), "--wav_scp", str(audio),
                            "--out", str(tmp_path / "u")]) == 1
    assert "learn_kmeans" in capsys.readouterr().err
    assert dump_units.main(["--kmeans", str(kmeans_model), "--wav_scp", str(audio), "--out", str(tmp_path / "u"),
                            "--word_ali", str(tmp_path / "ali")]) == 1
    assert "go together" in capsys.readouterr().err
    assert dump_units.main(["--kmeans", str(kmeans_model), "--wav_scp", str(audio), "--out", str(tmp_path / "u"),
                            "--out_durations", str(tmp_path / "d")]) == 1
    assert "needs --dedup true" in capsys.readouterr().err
    bad = tmp_path / "bad.scp"
    bad.write_text(f"x {tmp_path}/none.flac\n")
    assert dump_units.main(["--kmeans", str(kmeans_model), "--wav_scp", str(bad), "--out", str(tmp_path / "u")]) == 1
    assert "no utterance" in capsys.readouterr().err and not (tmp_path / "u").exists()
