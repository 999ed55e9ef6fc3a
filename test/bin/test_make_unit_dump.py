"""make_unit_dump: one training/decoding dir per S2ST set, drops reported, files aligned."""

import numpy as np
import pytest

from espnet_csst.bin import make_unit_dump
from espnet_csst.units.kmeans import save_kmeans


@pytest.fixture()
def inputs(tmp_path):
    data, raw = tmp_path / "data", tmp_path / "raw"
    data.mkdir()
    raw.mkdir()
    (data / "text.en").write_text("a1 Hello there.\nb2 Good day.\nc3 Long one.\nd4 No units.\n")
    (data / "wav.scp.en").write_text("".join(f"{u} /audio/{u}.en.flac\n" for u in ("a1", "b2", "c3", "d4")))
    (raw / "src_units").write_text("b2 1 2 3\na1 4 4 5 6\nc3 " + " ".join(["7"] * 50) + "\nd4 1\ne5 2 2\n")
    (raw / "tgt_units").write_text("a1 1 1 2\nb2 3 4\nc3 5 5 5\nd4\n")
    (raw / "src_word_frames").write_text("a1 0 2 hola\nb2 0 3 buen\nc3 0 50 largo\nd4 0 1 x\n")
    (raw / "tgt_word_frames").write_text("a1 0 3 Hello\nb2 0 2 Good\nc3 0 3 Long\n")
    (raw / "tgt_durations").write_text("a1 2 1 1\nb2 1 3\nc3 1 1 1\nd4\n")
    kmeans = tmp_path / "kmeans.npz"
    save_kmeans(kmeans, np.zeros((4, 39), dtype=np.float32), {"kind": "mfcc", "stack": 4})
    return data, raw, kmeans, tmp_path / "out"


def test_dump_keeps_aligned_files_and_reports_drops(inputs, caplog):
    data, raw, kmeans, out = inputs
    rc = make_unit_dump.main(["--data_dir", str(data), "--raw_dir", str(raw), "--out_dir", str(out),
                              "--task", "s2st es en", "--tgt_lang", "en", "--kmeans", str(kmeans),
                              "--max_units", "20"])
    assert rc == 0
    keys = lambda name: [line.split()[0] for line in (out / name).read_text().splitlines()]  # noqa: E731
    assert keys("src_units") == ["a1", "b2"]
    for name in ("tgt_units", "src_word_frames", "tgt_word_frames", "tgt_durations", "task", "src_units_shape",
                 "text.en", "tgt_wav.scp"):
        assert keys(name) == ["a1", "b2"], name
    assert (out / "src_units_shape").read_text() == "a1 4\nb2 3\n"
    assert (out / "tgt_durations").read_text() == "a1 2 1 1\nb2 1 3\n"
    assert not (out / "src_durations").exists()  # only what the raw dir has
    assert (out / "task").read_text().splitlines()[0] == "a1 s2st es en"
    assert (out / "unit_hop").read_text().strip() == "640"  # 4 stacked 10 ms frames at 16 kHz
    dropped = dict(line.split(" ", 1) for line in (out / "dropped").read_text().splitlines())
    assert "max_units" in dropped["c3"] and dropped["d4"] == "no units" and "missing" in dropped["e5"]


def test_everything_dropped_is_an_error_naming_the_dir(inputs):
    data, raw, kmeans, out = inputs
    with pytest.raises(SystemExit, match="every utterance was dropped"):
        make_unit_dump.main(["--data_dir", str(data), "--raw_dir", str(raw), "--out_dir", str(out),
                             "--task", "s2st es en", "--tgt_lang", "en", "--kmeans", str(kmeans),
                             "--max_units", "2"])
