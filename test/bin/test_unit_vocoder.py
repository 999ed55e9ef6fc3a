"""train_unit_vocoder + unit_vocode end to end on three tiny generated utterances."""

import json
import logging

import numpy as np
import pytest
import soundfile
import torch
import yaml

from espnet_csst.bin import train_unit_vocoder, unit_vocode

HOP = 640
TINY = dict(embed_dim=16, channels=32, kernel_size=3, num_layers=2, mel_layers=1, dropout=0.0)
TINY_HIFIGAN = dict(
    embed_dim=16, channels=16, kernel_size=5, upsample_scales=[4, 4, 5, 8], resblock_kernel_sizes=[3],
    resblock_dilations=[[1]], duration_channels=8, dropout=0.0,
    discriminator=dict(scales=1, periods=[2], scale_discriminator_params=dict(
        channels=8, max_downsample_channels=16, max_groups=4, downsample_scales=[2, 1]),
        period_discriminator_params=dict(channels=4, max_downsample_channels=8, downsample_scales=[3, 1])),
)


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
    # several units files in one process (the vocoder loaded once): the same audio as one call each
    (d / "more_units").write_text("c 3 3 4\n")
    both = d / "both"
    assert unit_vocode.main(["--vocoder_dir", str(voc), "--units", str(d / "decode_units"), "--out_dir", str(both / "x"),
                             "--units", str(d / "more_units"), "--out_dir", str(both / "y"), "--n_iter", "4"]) == 0
    assert [line.split()[0] for line in (both / "x" / "wav.scp").read_text().splitlines()] == ["b", "a"]
    assert np.array_equal(soundfile.read(both / "x" / "wav" / "b.wav")[0], soundfile.read(out / "wav" / "b.wav")[0])
    assert (both / "y" / "wav" / "c.wav").is_file() and (both / "y" / "failed").read_text() == ""


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


def dedup_files(d):
    """Deduplicated units + run lengths of tiny_data's units (what dump_units --dedup true writes)."""
    from espnet_csst.units.kmeans import deduplicate

    units_lines, dur_lines = [], []
    for line in (d / "units").read_text().splitlines():
        utt, *u = line.split()
        if utt == "orphan":
            continue
        dedup, runs = deduplicate(np.array(list(map(int, u))))
        units_lines.append(" ".join([utt, *map(str, dedup.tolist())]) + "\n")
        dur_lines.append(" ".join([utt, *map(str, runs.tolist())]) + "\n")
    (d / "units_dedup").write_text("".join(units_lines))
    (d / "durations").write_text("".join(dur_lines))
    return d / "units_dedup", d / "durations"


@pytest.mark.parametrize("vocoder_type", ["mel_gl", "hifigan"])
def test_deduplicated_units_train_a_duration_model(tiny_data, vocoder_type):
    d = tiny_data
    units, durations = dedup_files(d)
    config = TINY_HIFIGAN if vocoder_type == "hifigan" else TINY
    (d / "model.yaml").write_text(yaml.safe_dump(config))
    voc = d / f"voc_{vocoder_type}"
    assert train_unit_vocoder.main([
        "--units", str(units), "--wav_scp", str(d / "wav.scp"), "--durations", str(durations), "--n_units", "8",
        "--out_dir", str(voc), "--valid_units", str(units), "--valid_wav_scp", str(d / "wav.scp"),
        "--valid_durations", str(durations), "--config", str(d / "model.yaml"), "--vocoder_type", vocoder_type,
        "--steps", "4", "--batch_size", "2", "--log_interval", "2", "--segment_units", "6",
    ]) == 0
    saved = yaml.safe_load((voc / "config.yaml").read_text())
    assert saved["vocoder_type"] == vocoder_type and saved["vocoder"]["duration_predictor"] is True
    summary = json.loads((voc / "train.log").read_text())
    assert summary["train_utts"] == 3 and summary["best_valid_l1"] is not None

    (d / "decode_units").write_text("x 1 2 3\n")
    out = d / f"vocoded_{vocoder_type}"
    assert unit_vocode.main(["--vocoder_dir", str(voc), "--units", str(d / "decode_units"), "--out_dir", str(out),
                             "--n_iter", "2"]) == 0
    wav, fs = soundfile.read(out / "wav" / "x.wav")
    assert fs == 16000 and len(wav) % HOP == 0 and len(wav) >= 3 * HOP  # predicted durations, each >= 1 frame


def test_durations_that_do_not_match_the_units_are_named(tiny_data):
    d = tiny_data
    units, durations = dedup_files(d)
    durations.write_text(durations.read_text().replace("utt1 ", "utt1 1 ", 1))  # one duration too many
    with pytest.raises(ValueError, match=r"utterance utt1 has \d+ durations for \d+ units"):
        train_unit_vocoder.main(["--units", str(units), "--wav_scp", str(d / "wav.scp"), "--durations",
                                 str(durations), "--n_units", "8", "--out_dir", str(d / "voc"),
                                 "--config", str(d / "model.yaml"), "--steps", "1"])


def test_hifigan_options_are_checked_against_its_constructor(tiny_data):
    (tiny_data / "model.yaml").write_text("mel_layers: 3\n")  # a mel_gl option
    with pytest.raises(ValueError, match="unknown hifigan vocoder option.*mel_layers"):
        train_unit_vocoder.main(["--units", str(tiny_data / "units"), "--wav_scp", str(tiny_data / "wav.scp"),
                                 "--n_units", "8", "--out_dir", str(tiny_data / "voc"), "--vocoder_type", "hifigan",
                                 "--config", str(tiny_data / "model.yaml")])


# ---------------------------------------------------------------- resuming an interrupted run
def resumable_args(d, out_dir, vocoder_type="mel_gl", steps=6, **extra):
    """A run with a valid set and a log entry every 2 steps (so a stop after step 3 leaves running stats)."""
    args = ["--units", str(d / "units"), "--wav_scp", str(d / "wav.scp"), "--n_units", "8", "--out_dir", str(out_dir),
            "--valid_units", str(d / "units"), "--valid_wav_scp", str(d / "wav.scp"),
            "--config", str(d / "model.yaml"), "--vocoder_type", vocoder_type, "--steps", str(steps),
            "--batch_size", "2", "--segment_units", "6", "--log_interval", "2", "--checkpoint_interval", "1"]
    for key, value in extra.items():
        args += [f"--{key}", str(value)]
    return args


def stop_before_step(monkeypatch, n: int) -> None:
    """Interrupt the run when it draws the batch of step ``n`` (0-based): steps 0 .. n-1 are done."""
    calls = []
    real = train_unit_vocoder.random_batch

    def random_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) > n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_unit_vocoder, "random_batch", random_batch)


def without_times(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "seconds"}


def history_of(out_dir):
    checkpoint = torch.load(out_dir / "checkpoint.pth", map_location="cpu", weights_only=True)
    return [{k: v for k, v in entry.items() if k != "elapsed_s"} for entry in checkpoint["history"]]


def assert_interrupted_run_resumes_exactly(d, monkeypatch, caplog, vocoder_type, **extra):
    caplog.set_level(logging.INFO)
    straight, resumed = d / "straight", d / "resumed"
    assert train_unit_vocoder.main(resumable_args(d, straight, vocoder_type, **extra)) == 0

    with monkeypatch.context() as m:
        stop_before_step(m, 3)
        with pytest.raises(KeyboardInterrupt):
            train_unit_vocoder.main(resumable_args(d, resumed, vocoder_type, **extra))
    assert not (resumed / "model.pth").exists()
    checkpoint = torch.load(resumed / "checkpoint.pth", map_location="cpu", weights_only=True)
    assert checkpoint["step"] == 3 and checkpoint["running"]  # step 3's stats, not logged yet (every 2 steps)

    caplog.clear()
    assert train_unit_vocoder.main(resumable_args(d, resumed, vocoder_type, **extra)) == 0
    assert "resuming from step 3" in caplog.text
    a = torch.load(straight / "model.pth", weights_only=True)
    b = torch.load(resumed / "model.pth", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert history_of(straight) == history_of(resumed) and len(history_of(resumed)) == 3
    assert without_times(json.loads((straight / "train.log").read_text())) == \
        without_times(json.loads((resumed / "train.log").read_text()))
    return straight, resumed


def test_mel_gl_run_stopped_after_3_steps_resumes_to_the_same_weights(tiny_data, monkeypatch, caplog):
    straight, _ = assert_interrupted_run_resumes_exactly(tiny_data, monkeypatch, caplog, "mel_gl")
    checkpoint = torch.load(straight / "checkpoint.pth", map_location="cpu", weights_only=True)
    assert checkpoint["step"] == 6 and checkpoint["run"]["vocoder_type"] == "mel_gl"
    assert set(checkpoint["training"]) == {"opt", "sched"} and checkpoint["best"][1] is not None


def test_hifigan_run_stopped_after_3_steps_resumes_to_the_same_weights(tiny_data, monkeypatch, caplog):
    (tiny_data / "model.yaml").write_text(yaml.safe_dump(TINY_HIFIGAN))
    # the discriminator joins at step 2: adversarial steps both before the stop and after it
    straight, _ = assert_interrupted_run_resumes_exactly(tiny_data, monkeypatch, caplog, "hifigan",
                                                         adversarial_start=2)
    training = torch.load(straight / "checkpoint.pth", map_location="cpu", weights_only=True)["training"]
    assert training["steps"] == 6 and training["opt_d"]["state"]  # the discriminator was trained


def test_a_finished_run_only_writes_its_outputs_again(tiny_data, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    out = tiny_data / "voc"
    assert train_unit_vocoder.main(resumable_args(tiny_data, out, steps=2)) == 0
    before = torch.load(out / "model.pth", weights_only=True)
    (out / "model.pth").unlink()
    stop_before_step(monkeypatch, 0)  # any training step would raise
    caplog.clear()
    assert train_unit_vocoder.main(resumable_args(tiny_data, out, steps=2)) == 0
    assert "training already finished" in caplog.text
    after = torch.load(out / "model.pth", weights_only=True)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert json.loads((out / "train.log").read_text())["train_utts"] == 3


def test_a_checkpoint_of_other_options_stops_the_run_and_resume_false_starts_over(tiny_data, caplog):
    caplog.set_level(logging.INFO)
    out = tiny_data / "voc"
    assert train_unit_vocoder.main(resumable_args(tiny_data, out, steps=2)) == 0
    with pytest.raises(ValueError, match=r"checkpoint\.pth.*steps: checkpoint 2, this run 3.*--resume false"):
        train_unit_vocoder.main(resumable_args(tiny_data, out, steps=3))
    (tiny_data / "model.yaml").write_text(yaml.safe_dump({**TINY, "channels": 16}))
    with pytest.raises(ValueError, match=r"channels: checkpoint 32, this run 16"):
        train_unit_vocoder.main(resumable_args(tiny_data, out, steps=2))

    caplog.clear()
    assert train_unit_vocoder.main(resumable_args(tiny_data, out, steps=3, resume="false")) == 0
    assert "resuming from step" not in caplog.text and "starting over" in caplog.text
    assert json.loads((out / "train.log").read_text())["steps"] == 3
    checkpoint = torch.load(out / "checkpoint.pth", map_location="cpu", weights_only=True)
    assert checkpoint["step"] == 3 and checkpoint["run"]["vocoder"]["channels"] == 16
