"""Unit features: shapes, frame counts, resampling/downmix, determinism, the hf_ssl layer reader."""

import json

import numpy as np
import pytest
import soundfile

from espnet_csst.units.audio import load_audio, read_wav_scp, to_mono_float32
from espnet_csst.units.features import build_feature_extractor, stack_frames, time_to_frame


def sine(seconds: float, fs: int = 16000, freq: float = 220.0, seed: int = 0) -> np.ndarray:
    t = np.arange(int(round(seconds * fs))) / fs
    noise = np.random.default_rng(seed).standard_normal(len(t)) * 0.01
    return (0.3 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def kaldi_frames(n16: int) -> int:
    return 0 if n16 < 400 else 1 + (n16 - 400) // 160


@pytest.mark.parametrize("seconds", [0.5, 1.03, 1.5])
@pytest.mark.parametrize("kind,dim", [("mfcc", 39), ("fbank", 40)])
def test_kaldi_features_shape_and_frame_count_with_stack(kind, dim, seconds):
    ext = build_feature_extractor(kind)
    wav = sine(seconds)
    feats = ext(wav, 16000)
    expected = -(-kaldi_frames(len(wav)) // 4)  # 10 ms frames averaged in groups of 4, last group partial
    assert feats.shape == (expected, dim) and feats.dtype == np.float32
    assert ext.dim == dim and ext.frame_shift == pytest.approx(0.04)
    assert ext.frames_for_duration(len(wav), 16000) == expected
    # cmvn on by default: every dimension zero-mean, unit-variance over the utterance
    np.testing.assert_allclose(feats.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(feats.std(0), 1.0, atol=1e-3)


def test_options_change_dim_and_shift_and_config_rebuilds():
    ext = build_feature_extractor("mfcc", num_ceps=10, deltas=False, stack=2, cmvn=False)
    feats = ext(sine(1.0), 16000)
    assert feats.shape == (-(-kaldi_frames(16000) // 2), 10)
    assert ext.frame_shift == pytest.approx(0.02)
    assert abs(float(feats.mean())) > 0.1  # no normalisation
    config = ext.config()
    assert json.loads(json.dumps(config)) == config and config["kind"] == "mfcc"
    again = build_feature_extractor(**config)
    np.testing.assert_array_equal(again(sine(1.0), 16000), feats)


def test_stack_one_gives_kaldi_frames_and_partial_group_is_averaged():
    ext = build_feature_extractor("fbank", stack=1, cmvn=False)
    base = ext(sine(0.7), 16000)
    assert len(base) == kaldi_frames(int(0.7 * 16000))  # 68 frames
    stacked = stack_frames(base, 5)
    assert len(stacked) == 14
    np.testing.assert_allclose(stacked[0], base[:5].mean(0), rtol=1e-5)
    np.testing.assert_allclose(stacked[-1], base[65:].mean(0), rtol=1e-5)  # last group: 3 frames


def test_resampling_and_stereo_downmix():
    ext = build_feature_extractor("mfcc")
    fs = 22050
    mono = sine(1.2, fs)
    stereo = np.stack([mono, mono], axis=1)  # soundfile layout (samples, channels)
    feats = ext(stereo, fs)
    n16 = int(np.ceil(len(mono) * 16000 / fs))
    assert feats.shape == (-(-kaldi_frames(n16) // 4), 39)
    assert ext.frames_for_duration(len(mono), fs) == len(feats)
    np.testing.assert_array_equal(feats, ext(mono, fs))  # identical channels: the downmix is the channel
    np.testing.assert_array_equal(to_mono_float32(stereo.T), mono)  # torch layout (channels, samples) too


def test_deterministic_and_too_short_audio_gives_no_frames():
    ext = build_feature_extractor("fbank")
    wav = sine(0.9, seed=5)
    a, b = ext(wav, 16000), ext(wav.copy(), 16000)
    assert a.tobytes() == b.tobytes()
    assert ext(np.zeros(300, np.float32), 16000).shape == (0, 40)
    assert ext.frames_for_duration(300, 16000) == 0


def test_time_to_frame_rounds_and_clamps():
    assert time_to_frame(0.0, 0.04, 10) == 0
    assert time_to_frame(0.119, 0.04, 10) == 3
    assert time_to_frame(0.101, 0.04, 10) == 3
    assert time_to_frame(5.0, 0.04, 10) == 10
    assert time_to_frame(-0.5, 0.04, 10) == 0


def test_bad_options_name_the_problem():
    with pytest.raises(ValueError, match="unknown option.*'stak'"):
        build_feature_extractor("mfcc", stak=4)
    with pytest.raises(ValueError, match="unknown feature type 'hubert'"):
        build_feature_extractor("hubert")
    with pytest.raises(ValueError, match="need the model directory"):
        build_feature_extractor("hf_ssl")
    with pytest.raises(FileNotFoundError, match="config.json"):
        build_feature_extractor("hf_ssl", path="/nonexistent/model")


def test_wav_scp_reading_and_unreadable_audio(tmp_path):
    soundfile.write(tmp_path / "a.flac", sine(0.5), 16000)
    (tmp_path / "bad.flac").write_bytes(b"not audio")
    scp = tmp_path / "wav.scp"
    scp.write_text(f"a {tmp_path}/a.flac\nb {tmp_path}/bad.flac\nc {tmp_path}/missing.flac\n"
                   f"d cat {tmp_path}/a.flac |\n")
    entries = dict(read_wav_scp(scp))
    wav, fs = load_audio(entries["a"])
    assert fs == 16000 and wav.shape == (8000,)
    piped, _ = load_audio(entries["d"])
    np.testing.assert_array_equal(piped, wav)
    with pytest.raises(ValueError, match="bad.flac"):
        load_audio(entries["b"])
    with pytest.raises(FileNotFoundError, match="missing.flac"):
        load_audio(entries["c"])


# --------------------------------------------------------------------------- hf_ssl
def tiny_ssl_model(path, kind: str = "wav2vec2", with_processor: bool = True):
    import torch
    from transformers import HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    torch.manual_seed(0)
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                 conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    if kind == "wav2vec2":
        Wav2Vec2Model(Wav2Vec2Config(**small)).save_pretrained(path)
    else:
        HubertModel(HubertConfig(**small)).save_pretrained(path)
    if with_processor:
        Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(path)
    return path


@pytest.mark.parametrize("kind,with_processor", [("wav2vec2", True), ("hubert", False)])
def test_hf_ssl_layer_features(tmp_path, kind, with_processor):
    model_dir = tiny_ssl_model(tmp_path / kind, kind, with_processor)
    ext = build_feature_extractor("hf_ssl", path=str(model_dir), layer=1)
    assert ext.frame_shift == pytest.approx(0.02) and ext.dim == 32
    wav = sine(1.0)
    feats = ext(wav, 16000)
    assert feats.shape == (49, 32) and feats.dtype == np.float32  # wav2vec2's CNN: 49 frames per second
    assert ext.frames_for_duration(len(wav), 16000) == 49
    assert ext(wav, 16000).tobytes() == feats.tobytes()
    # another layer is another representation; config() rebuilds the same extractor
    assert not np.allclose(build_feature_extractor("hf_ssl", path=str(model_dir), layer=2)(wav, 16000), feats)
    np.testing.assert_array_equal(build_feature_extractor(**ext.config())(wav, 16000), feats)
    # other sampling rates are resampled first
    assert len(ext(sine(1.0, 22050), 22050)) == ext.frames_for_duration(22050, 22050) == 49


def test_hf_ssl_layer_out_of_range(tmp_path):
    model_dir = tiny_ssl_model(tmp_path / "m", with_processor=False)
    with pytest.raises(ValueError, match="layer 6 is out of range.*2 layers"):
        build_feature_extractor("hf_ssl", path=str(model_dir))  # the default layer 6 > 2


# --------------------------------------------------------------------------- whisper
TINY_WHISPER = dict(d_model=32, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64, decoder_layers=1,
                    decoder_attention_heads=2, decoder_ffn_dim=64, num_mel_bins=80, max_source_positions=1500,
                    vocab_size=100, eos_token_id=2, bos_token_id=1, pad_token_id=0, decoder_start_token_id=1)


@pytest.fixture(scope="module")
def tiny_whisper_dir(tmp_path_factory):
    import torch
    from transformers import WhisperConfig, WhisperModel

    out = tmp_path_factory.mktemp("whisper") / "hf"
    torch.manual_seed(0)
    WhisperModel(WhisperConfig(**TINY_WHISPER)).save_pretrained(out)
    return out


@pytest.mark.parametrize("seconds", [0.33, 1.0, 2.27])
def test_whisper_features_are_the_csst_frontend_s_frames_stacked(tiny_whisper_dir, seconds):
    import torch

    from espnet_csst.frontends.whisper import WhisperFrontend

    wav = np.random.default_rng(1).standard_normal(int(seconds * 16000)).astype(np.float32) * 0.1
    ext = build_feature_extractor("whisper", path=str(tiny_whisper_dir), layer=1, stack=2)
    feats = ext(wav, 16000)
    assert feats.shape == (ext.frames_for_duration(len(wav), 16000), 32)
    assert ext.frame_shift == pytest.approx(0.04) and ext.dim == 32
    frames, lens = WhisperFrontend(str(tiny_whisper_dir), layer=1)(torch.from_numpy(wav)[None], torch.tensor([len(wav)]))
    np.testing.assert_allclose(feats, stack_frames(frames[0, : int(lens[0])].numpy(), 2), rtol=0, atol=1e-6)
    # the config rebuilds it, at 8 kHz input too (resampled to Whisper's 16 kHz)
    again = build_feature_extractor(**json.loads(json.dumps(ext.config())))
    np.testing.assert_array_equal(again(wav, 16000), feats)
    assert ext.config() == {"kind": "whisper", "path": str(tiny_whisper_dir), "layer": 1, "stack": 2}
    assert len(ext(wav[::2], 8000)) == ext.frames_for_duration(len(wav) // 2, 8000)


def test_whisper_last_layer_by_default_and_bad_options(tiny_whisper_dir, tmp_path):
    ext = build_feature_extractor("whisper", path=str(tiny_whisper_dir))
    assert ext.layer == 2 and ext.config()["stack"] == 2
    assert len(ext(np.zeros(100, dtype=np.float32), 16000)) == 0  # under one 20 ms frame
    with pytest.raises(ValueError, match="need the model directory"):
        build_feature_extractor("whisper")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        build_feature_extractor("whisper", path=str(tmp_path))
    with pytest.raises(ValueError, match="layer must be"):
        build_feature_extractor("whisper", path=str(tiny_whisper_dir), layer=3)
    with pytest.raises(ValueError, match="unknown option"):
        build_feature_extractor("whisper", path=str(tiny_whisper_dir), num_ceps=3)
