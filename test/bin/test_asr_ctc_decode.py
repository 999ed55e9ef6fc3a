"""asr_ctc_decode: text normalisation, greedy CTC collapse, model loading and batched decoding."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from espnet_csst.bin import asr_ctc_decode
from espnet_csst.scoring.asr import normalize_for_asr
from espnet_csst.scoring.ctc_asr import CTCGreedyASR, ctc_greedy_collapse

TOKENS = ["<blank>", "<unk>", "<space>"] + list("abcdefghijklmnopqrstuvwxyz") + ["<sos/eos>"]


def build_tiny_asr(exp_dir: Path, seed: int = 0) -> dict:
    """A random-weight CTC-only ESPnet ASR model saved like train_asr.sh leaves it.

    config.yaml holds every asr_train option (as ESPnet writes it) with global_mvn
    statistics under exp_dir/stats; model.pth is a plain state dict.
    """
    from espnet2.tasks.asr import ASRTask

    exp_dir.mkdir(parents=True, exist_ok=True)
    stats = exp_dir / "stats" / "train" / "feats_stats.npz"
    stats.parent.mkdir(parents=True, exist_ok=True)
    np.savez(stats, count=np.array(1000.0), sum=np.zeros(20), sum_square=np.full(20, 1000.0))
    (exp_dir / "tokens.txt").write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    args = ASRTask.get_parser().parse_args(
        ["--output_dir", str(exp_dir), "--token_list", str(exp_dir / "tokens.txt"), "--token_type", "char"])
    vars(args).update(
        frontend="default",
        frontend_conf={"fs": "16k", "n_fft": 256, "win_length": 256, "hop_length": 160, "n_mels": 20},
        specaug=None, normalize="global_mvn", normalize_conf={"stats_file": str(stats)},
        encoder="transformer",
        encoder_conf={"output_size": 16, "attention_heads": 2, "linear_units": 32, "num_blocks": 1,
                      "input_layer": "conv2d", "dropout_rate": 0.0},
        model_conf={"ctc_weight": 1.0}, init=None, input_size=None, seed=seed,
    )
    torch.manual_seed(seed)
    model = ASRTask.build_model(args)  # turns token_list into the list of tokens, as ESPnet's config keeps it
    (exp_dir / "config.yaml").write_text(yaml.safe_dump(vars(args)), encoding="utf-8")
    torch.save(model.state_dict(), exp_dir / "model.pth")
    return {"config": exp_dir / "config.yaml", "model": exp_dir / "model.pth", "stats": stats}


@pytest.fixture(scope="module")
def tiny_asr(tmp_path_factory):
    return build_tiny_asr(tmp_path_factory.mktemp("asr") / "exp")


def tone(seconds: float, fs: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


# --------------------------------------------------------------------- pure functions


@pytest.mark.parametrize("text, expected", [
    ("Hello, World!", "hello world"),
    ("  The  coin\tcost ten dollars.  ", "the coin cost ten dollars"),
    ("sixty-four", "sixtyfour"),
    ("Don't stop", "dont stop"),
    ("¿Qué tal?", "qué tal"),
    ("...", ""),
])
def test_normalize_for_asr(text, expected):
    assert normalize_for_asr(text) == expected


def test_greedy_collapse_merges_repeats_and_drops_blanks():
    assert ctc_greedy_collapse([0, 3, 3, 0, 0, 4, 4, 4, 0], blank=0) == [3, 4]
    # a blank separates two equal labels: both are kept
    assert ctc_greedy_collapse([5, 0, 5, 5, 0], blank=0) == [5, 5]
    assert ctc_greedy_collapse([0, 0, 0], blank=0) == []
    assert ctc_greedy_collapse([], blank=0) == []
    assert ctc_greedy_collapse([2, 2, 1, 1, 2], blank=1) == [2, 2]


def test_greedy_decoding_of_hand_made_logits(tiny_asr):
    """Frame logits peaked on 'h h _ i <space> <space> y o o' decode to 'hi yo'."""
    asr = CTCGreedyASR.from_files(tiny_asr["config"], tiny_asr["model"])
    path = ["h", "h", "<blank>", "i", "<space>", "<space>", "y", "o", "o"]
    logits = torch.full((len(path), len(TOKENS)), -5.0)
    for t, tok in enumerate(path):
        logits[t, TOKENS.index(tok)] = 5.0
    ids = ctc_greedy_collapse(logits.argmax(-1).tolist(), asr.blank)
    assert asr.ids_to_text(ids) == "hi yo"
    # <unk> and <sos/eos> are no text
    assert asr.ids_to_text([TOKENS.index(t) for t in ["a", "<unk>", "b", "<sos/eos>"]]) == "ab"


# --------------------------------------------------------------------- model


def test_model_loads_weights_only_and_strictly(tiny_asr, tmp_path):
    asr = CTCGreedyASR.from_files(tiny_asr["config"], tiny_asr["model"])
    assert asr.fs == 16000 and asr.token_list == TOKENS and asr.blank == 0
    state = torch.load(tiny_asr["model"], weights_only=True)
    del state[next(iter(state))]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(ValueError, match="does not fit the model"):
        CTCGreedyASR.from_files(tiny_asr["config"], tmp_path / "partial.pth")
    with pytest.raises(FileNotFoundError, match="--asr_model"):
        CTCGreedyASR.from_files(tiny_asr["config"], tmp_path / "missing.pth")


def test_stats_file_found_next_to_the_config(tiny_asr, tmp_path):
    """A relative stats path from another working directory falls back to <config dir>/stats."""
    conf = yaml.safe_load(tiny_asr["config"].read_text(encoding="utf-8"))
    exp = tmp_path / "moved"
    (exp / "stats" / "train").mkdir(parents=True)
    (exp / "stats" / "train" / "feats_stats.npz").write_bytes(tiny_asr["stats"].read_bytes())
    conf["normalize_conf"] = {"stats_file": "exp/asr_en/stats/train/feats_stats.npz"}
    (exp / "config.yaml").write_text(yaml.safe_dump(conf), encoding="utf-8")
    asr = CTCGreedyASR.from_files(exp / "config.yaml", tiny_asr["model"])
    assert len(asr.transcribe([tone(0.5, 16000)], 16000)) == 1
    (exp / "stats" / "train" / "feats_stats.npz").unlink()
    with pytest.raises(FileNotFoundError, match="stats_file"):
        CTCGreedyASR.from_files(exp / "config.yaml", tiny_asr["model"])


def test_resampling_gives_the_frames_of_the_model_rate(tiny_asr):
    asr = CTCGreedyASR.from_files(tiny_asr["config"], tiny_asr["model"])
    at16, at22, stereo = asr.ctc_log_probs(
        [tone(1.0, 16000), tone(1.0, 22050), np.stack([tone(1.0, 16000)] * 2, axis=1)], [16000, 22050, 16000])
    assert at16.shape == at22.shape == stereo.shape and at16.shape[1] == len(TOKENS)
    # down-mixing two equal channels changes nothing
    assert torch.allclose(at16, stereo, atol=1e-5)
    assert torch.allclose(at16.exp().sum(-1), torch.ones(len(at16)), atol=1e-4)


# --------------------------------------------------------------------- CLI


def test_cli_decodes_resamples_and_lists_failures(tiny_asr, tmp_path, caplog):
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "a.flac", tone(1.2, 16000, 1), 16000)
    sf.write(audio / "b.wav", tone(0.9, 22050, 2), 22050)
    (audio / "c.flac").write_bytes(b"not audio at all")
    sf.write(audio / "d.wav", tone(0.01, 16000, 3), 16000)  # 1 fbank frame: too short for conv2d
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt_a {audio / 'a.flac'}\nutt_b b.wav\nutt_c {audio / 'c.flac'}\n"
                   f"utt_d {audio / 'd.wav'}\nutt_e {audio / 'missing.flac'}\n", encoding="utf-8")
    out = tmp_path / "dec" / "text"
    assert asr_ctc_decode.main(["--asr_config", str(tiny_asr["config"]), "--asr_model", str(tiny_asr["model"]),
                                "--wav_scp", str(scp), "--out", str(out), "--batch_size", "2",
                                "--audio_root", str(audio)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [ln.split(" ", 1)[0] for ln in lines] == ["utt_a", "utt_b", "utt_c", "utt_d", "utt_e"]
    hyps = dict((ln.split(" ", 1) + [""])[:2] for ln in lines)
    failed = dict(ln.split(" ", 1) for ln in out.with_name("text.failed").read_text(encoding="utf-8").splitlines())
    assert sorted(failed) == ["utt_c", "utt_d", "utt_e"]
    assert "not found" in failed["utt_e"] and "cannot read" in failed["utt_c"] and "too short" in failed["utt_d"]
    assert all(hyps[u] == "" for u in failed)
    # the decoded lines are what the Python API gives for the same audio
    asr = CTCGreedyASR.from_files(tiny_asr["config"], tiny_asr["model"])
    wav_b, fs_b = sf.read(audio / "b.wav", dtype="float32")
    assert asr.transcribe([sf.read(audio / "a.flac", dtype="float32")[0], wav_b], [16000, fs_b]) == [
        hyps["utt_a"], hyps["utt_b"]]
    assert not list(out.parent.glob(".*.tmp"))


def test_several_lists_in_one_process_equal_one_list_each(tmp_path, tiny_asr):
    audio = tmp_path / "audio"
    audio.mkdir()
    for k, seconds in enumerate((1.2, 0.8, 1.0)):
        sf.write(audio / f"{k}.flac", tone(seconds, 16000, seed=k), 16000)
    lists = {"one": "u0 0.flac\nu1 1.flac\n", "two": "u2 2.flac\n"}
    common = ["--asr_config", str(tiny_asr["config"]), "--asr_model", str(tiny_asr["model"]), "--audio_root", str(audio)]
    pairs = []
    for name, body in lists.items():
        (tmp_path / f"{name}.scp").write_text(body, encoding="utf-8")
        assert asr_ctc_decode.main([*common, "--wav_scp", str(tmp_path / f"{name}.scp"),
                                    "--out", str(tmp_path / "alone" / name)]) == 0
        pairs += ["--wav_scp", str(tmp_path / f"{name}.scp"), "--out", str(tmp_path / "together" / name)]
    assert asr_ctc_decode.main([*common, *pairs]) == 0
    for name in lists:
        assert (tmp_path / "together" / name).read_text() == (tmp_path / "alone" / name).read_text()
    assert (tmp_path / "together" / "two").read_text().startswith("u2 ")
    with pytest.raises(SystemExit):  # pairs, or nothing
        asr_ctc_decode.main([*common, *pairs, "--wav_scp", str(tmp_path / "one.scp")])


def test_normalize_text_mode_drops_empty_lines(tmp_path):
    src = tmp_path / "text"
    src.write_text("u1 Hello, World!\nu2 ...\nu3 The coin cost ten dollars.\n", encoding="utf-8")
    assert asr_ctc_decode.main(["--normalize_text", str(src), str(tmp_path / "norm")]) == 0
    assert (tmp_path / "norm").read_text(encoding="utf-8") == "u1 hello world\nu3 the coin cost ten dollars\n"


def test_cli_needs_its_options(capsys):
    with pytest.raises(SystemExit):
        asr_ctc_decode.main(["--wav_scp", "x"])
    assert "--asr_config" in capsys.readouterr().err
