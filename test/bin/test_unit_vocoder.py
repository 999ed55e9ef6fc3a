"""train_unit_vocoder + unit_vocode end to end on three tiny generated utterances."""

import json

import numpy as np
import pytest
import soundfile
import yaml

from espnet_csst.bin import train_unit_vocoder, unit_vocode

HOP = 640
TINY = dict(embed_dim=16, channels=32, kernel_size=3, num_layers=2, mel_layers=1, dropout=0.0)


def sine_sweep(n_units: int, f0: float, f1: float, fs: int = 16000) -> np.ndarray:
    t = np.arange(n_units * HOP) / fs
    return (0.4 * np.sin(2 * np.pi * (f0 + (f1 - f0) * t / t[-1] / 2) * t)).astype(np.float32)


@pytest.fixture
def tiny_data(tmp_path):
    """Three ~0.5 s sweeps with made-up units (one per 640 samples); a fourth utt has units but no audio."""
    rng = np.random.default_rng(0)
    wav_lines, unit_lines = [], []
    for k, (n, f0, f1) in enumerate([(12, 200, 800), (13, 300, 1200), (11, 500, 300)]):
        path = tmp_path / "audio" / f"utt{k}.flac"
        path.parent.mkdir(exist_ok=True)
        soundfile.write(path, sine_sweep(n, f0, f1), 16000)
        wav_lines.append(f"utt{k} {path}\n")
        unit_lines.append(f"utt{k} " + " ".join(map(str, rng.integers(0, 8, n))) + "\n")
    (tmp_path / "wav.scp").write_text("".join(wav_lines))
    (tmp_path / "units").write_text("".join(unit_lines) + "orphan 1 2 3\n")
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(TINY))
    return tmp_path


def test_train_then_vocode(tiny_data, caplog):
    d = tiny_data
    voc = d / "exp" / "vocoder"
    rc = train_unit_vocoder.main([
        "--units", str(d / "units"), "--wav_scp", str(d / "wav.scp"), "--n_units", "8", "--unit_hop", str(HOP),
        "--out_dir", str(voc), "--valid_units", str(d / "units"), "--valid_wav_scp", str(d / "wav.scp"),
        "--config", str(d / "model.yaml"), "--steps", "20", "--batch_size", "3", "--log_interval", "5",
    ])
    assert rc == 0
    assert "dropped 1 utterance(s)" in caplog.text and "orphan" in caplog.text
    for name in ("config.yaml", "model.pth", "loss.png", "train.log"):
        assert (voc / name).is_file(), name
    summary = json.loads((voc / "train.log").read_text())
    assert summary["steps"] == 20 and summary["train_utts"] == 3
    assert summary["best_valid_l1"] is not None and summary["best_valid_l1"] <= summary["final_valid_l1"]
    assert yaml.safe_load((voc / "config.yaml").read_text())["vocoder"]["channels"] == 32

    (d / "decode_units").write_text("b 1 2 3 4 5\nempty\na 7 7 0 1\nbad 3 99\n")
    out = d / "vocoded"
    assert unit_vocode.main(["--vocoder_dir", str(voc), "--units", str(d / "decode_units"), "--out_dir", str(out),
                             "--batch_size", "2", "--n_iter", "4"]) == 0
    scp = [line.split() for line in (out / "wav.scp").read_text().splitlines()]
    assert [k for k, _ in scp] == ["b", "a"]  # the units file's order, failures left out
    for (utt, path), n in zip(scp, [5, 4]):
        wav, fs = soundfile.read(path)
        assert fs == 16000 and len(wav) == n * HOP and np.abs(wav).max() > 0.5
        assert soundfile.info(path).subtype == "PCM_16"
        assert path.startswith("/")
    failed = dict(line.split(" ", 1) for line in (out / "failed").read_text().splitlines())
    assert set(failed) == {"empty", "bad"}
    assert "empty" in failed["empty"] and "99" in failed["bad"]
    assert not (out / "wav" / "empty.wav").exists()


def test_length_mismatch_is_dropped(tiny_data, caplog):
    d = tiny_data
    (d / "units").write_text((d / "units").read_text().replace("utt1 ", "utt1 1 2 3 4 5 "))  # 5 units too many
    rc = train_unit_vocoder.main([
        "--units", str(d / "units"), "--wav_scp", str(d / "wav.scp"), "--n_units", "8",
        "--out_dir", str(d / "voc"), "--config", str(d / "model.yaml"), "--steps", "2", "--batch_size", "2",
    ])
    assert rc == 0
    assert "unit count != audio length" in caplog.text and "utt1" in caplog.text
    assert json.loads((d / "voc" / "train.log").read_text())["train_utts"] == 2


def test_unknown_model_option_names_config(tiny_data):
    (tiny_data / "model.yaml").write_text("chanels: 3\n")
    with pytest.raises(ValueError, match="chanels"):
        train_unit_vocoder.main(["--units", str(tiny_data / "units"), "--wav_scp", str(tiny_data / "wav.scp"),
                                 "--n_units", "8", "--out_dir", str(tiny_data / "voc"),
                                 "--config", str(tiny_data / "model.yaml")])
