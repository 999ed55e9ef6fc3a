"""The frozen-frontend frame cache: computed once per recording, read by ESPnet's loader, refused when stale."""

import numpy as np
import pytest
import soundfile
import torch
import yaml

from espnet_csst.frontends.feature_cache import (
    FeatureCacheError, check_cached_inputs, check_info, dump_frontend_feats,
)
from espnet_csst.frontends.whisper import WhisperFrontend
from test.frontends.test_whisper import CONFIG, audio


def frontend(layer=2):
    torch.manual_seed(0)
    return WhisperFrontend(config=CONFIG, layer=layer).eval()


def make_dir(root, name, utts):
    """A data dir whose utterances are (utt id, wav file name, seconds, seed)."""
    d = root / name
    d.mkdir(parents=True)
    lines = []
    for utt, wav_name, seconds, seed in utts:
        wav = root / "wav" / wav_name
        wav.parent.mkdir(exist_ok=True)
        if not wav.exists():
            soundfile.write(wav, audio(seconds, seed), 16000)
        lines.append(f"{utt} {wav}\n")
    (d / "wav.scp").write_text("".join(lines))
    (d / "text").write_text("".join(f"{u} hola\n" for u, *_ in utts))
    return d


@pytest.fixture()
def dirs(tmp_path):
    a = make_dir(tmp_path, "stageA_train", [("u1", "1.wav", 0.6, 1), ("u2", "2.wav", 1.1, 2), ("u3", "3.wav", 0.3, 3)])
    # the same recordings under other ids (stage B, the transition loss's replay) and one new one
    b = make_dir(tmp_path, "stageB_train", [("st-u2", "2.wav", 1.1, 2), ("replay-u1", "1.wav", 0.6, 1),
                                           ("u4", "4.wav", 0.5, 4)])
    return tmp_path, a, b


def load_scp(d):
    from espnet2.train.dataset import ESPnetDataset

    ds = ESPnetDataset([(str(d / "feats.scp"), "speech", "kaldi_ark")])
    return {k: ds[k][1]["speech"] for k in ds.loader_dict["speech"].keys()}


def test_frames_are_the_frontend_s_in_float16_and_espnet_reads_them(dirs):
    root, a, b = dirs
    front = frontend()
    stats = dump_frontend_feats(front, root / "cache", [a, b], batch_seconds=2.0, progress=False)
    assert stats["utterances"] == 4  # 4 recordings, 6 utterances
    frames = load_scp(a)
    assert set(frames) == {"u1", "u2", "u3"}
    for utt, (_, seconds, seed) in {"u1": (0, 0.6, 1), "u2": (0, 1.1, 2), "u3": (0, 0.3, 3)}.items():
        x = torch.tensor(audio(seconds, seed))[None]
        with torch.no_grad():
            want, n = front(x, torch.tensor([x.size(1)]))
        assert frames[utt].shape == (int(n[0]), 32)
        np.testing.assert_allclose(frames[utt], want[0].numpy(), rtol=1e-2, atol=2e-3)  # float16 on disk
    shapes = dict(line.split() for line in (a / "feats_shape").read_text().splitlines())
    assert shapes["u2"] == "55,32"
    assert yaml.safe_load((a / "feats_info.yaml").read_text())["layer"] == 2
    np.testing.assert_array_equal(load_scp(b)["replay-u1"], frames["u1"])  # one recording, one computation


def test_a_rerun_computes_only_what_is_new_and_a_cut_index_line_is_recomputed(dirs):
    root, a, b = dirs
    cache = root / "cache"
    dump_frontend_feats(frontend(), cache, [a], progress=False)
    assert dump_frontend_feats(frontend(), cache, [a], progress=False)["utterances"] == 0
    index = cache / "index.tsv"
    index.write_text(index.read_text()[:-7])  # an interrupted write: the last line is cut
    stats = dump_frontend_feats(frontend(), cache, [a, b], progress=False)
    assert stats["utterances"] == 2  # the cut recording again, and stage B's new one
    # one ark per run that computed something
    assert len(load_scp(b)) == 3 and sorted(p.name for p in cache.glob("*.ark")) == ["feats.0.ark", "feats.1.ark"]


def test_another_layer_or_checkpoint_is_refused(dirs):
    root, a, _ = dirs
    dump_frontend_feats(frontend(layer=2), root / "cache", [a], progress=False)
    with pytest.raises(FeatureCacheError, match="layer: cache 2, model 3"):
        dump_frontend_feats(frontend(layer=3), root / "cache", [a], progress=False)
    other = frontend(layer=2)
    with torch.no_grad():
        other.encoder.conv1.bias.add_(0.1)
    with pytest.raises(FeatureCacheError, match="weights_sha256"):
        check_cached_inputs(other, [(str(a / "feats.scp"), "speech", "kaldi_ark")])
    assert check_cached_inputs(frontend(layer=2), [(str(a / "feats.scp"), "speech", "kaldi_ark"),
                                                   (str(a / "text"), "text", "text")]) == 1
    (a / "feats_info.yaml").unlink()
    with pytest.raises(FeatureCacheError, match="feats_info.yaml is missing"):
        check_info(a / "feats_info.yaml", frontend().cache_key())


def test_unreadable_audio_names_the_utterance(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "wav.scp").write_text(f"bad1 {tmp_path / 'nowhere.wav'}\n")
    with pytest.raises(FeatureCacheError, match="bad1"):
        dump_frontend_feats(frontend(), tmp_path / "cache", [d], progress=False)
    assert not (d / "feats.scp").exists()


def test_command_line(dirs, tmp_path, capsys, caplog):
    from espnet_csst.bin.dump_frontend_feats import main

    root, a, _ = dirs
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({"frontend": "whisper_hf", "frontend_conf": {"config": CONFIG, "layer": 2}}))
    args = ["--config", str(config), "--cache_root", str(root / "cache"), "--progress", "false"]
    assert main(args + [str(a)]) == 0 and (a / "feats.scp").exists()
    assert main(args + ["--frontend_conf", "layer=3", str(a)]) == 1
    assert "layer: cache 2, model 3" in capsys.readouterr().err
    # training the top block of three: its input, the two frozen blocks' output, is a 2-block cache
    # (random weights from the same seed: the same frozen blocks)
    torch.manual_seed(0)
    assert main(args + ["--cache_root", str(root / "cache2"), str(a)]) == 0
    caplog.set_level("INFO")
    config.write_text(yaml.safe_dump({"frontend": "whisper_hf", "frontend_conf": {"config": CONFIG, "finetune_top": 1}}))
    torch.manual_seed(0)
    assert main(args + ["--cache_root", str(root / "cache2"), str(a)]) == 0
    assert "1 block(s) train: caching the output of the 2 frozen one(s)" in caplog.text
    assert "0 to compute" in caplog.text
    config.write_text(yaml.safe_dump({"frontend": "whisper_hf", "frontend_conf": {"config": CONFIG, "finetune_top": -1}}))
    with pytest.raises(SystemExit, match="cannot be cached"):
        main(args + [str(a)])
    config.write_text(yaml.safe_dump({"frontend": "default"}))
    with pytest.raises(SystemExit, match="only a frozen pretrained frontend"):
        main(args + [str(a)])
    assert main(args + [str(tmp_path)]) == 2  # a data dir without audio is named
    assert f"no wav.scp in {tmp_path}" in capsys.readouterr().err
