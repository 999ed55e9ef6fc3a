"""HFWhisperEncoder on a tiny random Whisper: features, lengths, batching, loading."""

import numpy as np
import pytest
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

from espnet_csst.encoders.hf_whisper import HFWhisperEncoder

CONFIG = dict(d_model=32, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=64, decoder_layers=1,
              decoder_attention_heads=2, decoder_ffn_dim=64, num_mel_bins=80, max_source_positions=1500,
              vocab_size=100, eos_token_id=2, bos_token_id=1, pad_token_id=0, decoder_start_token_id=1)


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return HFWhisperEncoder(config=CONFIG).eval()


def audio(seconds, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * 16000))).astype(np.float32)


def test_padded_to_the_window_features_match_whisper_feature_extractor():
    """pad_to_window: the encoder sees what Whisper was trained on: audio padded to 30 s, then log-mel."""
    torch.manual_seed(0)
    encoder = HFWhisperEncoder(config=CONFIG, pad_to_window=True).eval()
    x = audio(1.3)
    ref = WhisperFeatureExtractor(feature_size=80)(x, sampling_rate=16000, return_tensors="pt").input_features
    seen = {}
    hook = encoder.encoder.conv1.register_forward_pre_hook(lambda m, args: seen.setdefault("feats", args[0]))
    try:
        with torch.no_grad():
            out, olens, _ = encoder(torch.tensor(x)[None], torch.tensor([x.size]))
    finally:
        hook.remove()
    assert seen["feats"].shape == ref.shape == (1, 80, 3000)
    torch.testing.assert_close(seen["feats"], ref, rtol=0, atol=1e-4)
    # ... and its output frames are Whisper's own encoder output, cut to the utterance
    with torch.no_grad():
        full = encoder.encoder(ref).last_hidden_state
    assert olens.tolist() == [(x.size // 160 + 1) // 2]
    torch.testing.assert_close(out[0], full[0, : olens[0]], rtol=0, atol=1e-4)


def test_output_shape_lengths_and_batching(encoder):
    xs = [audio(1.0, 1), audio(0.37, 2)]
    lens = torch.tensor([x.size for x in xs])
    batch = torch.nn.utils.rnn.pad_sequence([torch.tensor(x) for x in xs], batch_first=True)
    with torch.no_grad():
        out, olens, _ = encoder(batch, lens)
        assert olens.tolist() == [50, 19]  # 20 ms frames: ceil(mel frames / 2)
        assert out.shape == (2, int(olens.max()), 32) and encoder.output_size() == 32
        for i, x in enumerate(xs):  # alone: the same frames
            alone, alone_lens, _ = encoder(torch.tensor(x)[None], lens[i: i + 1])
            n = int(alone_lens[0])
            assert alone.shape[1] == n
            torch.testing.assert_close(out[i, :n], alone[0, :n], rtol=0, atol=1e-5)
        assert not out[1, int(olens[1]):].any()  # padded frames are zeros
        # (B, T, 1) input of a frontend-less config
        out3, _, _ = encoder(batch[..., None], lens)
        torch.testing.assert_close(out3, out)


def test_too_long_audio(encoder):
    with pytest.raises(ValueError, match="30 s"):
        encoder(torch.zeros(1, 16000 * 31), torch.tensor([16000 * 31]))


def test_frozen_by_default_and_trainable_on_request():
    assert not any(p.requires_grad for p in HFWhisperEncoder(config=CONFIG).parameters())
    trainable = HFWhisperEncoder(config=CONFIG, freeze=False)
    assert trainable.encoder.conv1.weight.requires_grad and trainable.encoder.layers[0].fc1.weight.requires_grad
    with pytest.raises(ValueError, match="contradicts"):
        HFWhisperEncoder(config=CONFIG, freeze=True, finetune_top=1)


def test_load_from_a_saved_whisper(tmp_path):
    torch.manual_seed(1)
    whisper = WhisperModel(WhisperConfig(**CONFIG))
    whisper.save_pretrained(tmp_path / "whisper")
    enc = HFWhisperEncoder(model_name_or_path=str(tmp_path / "whisper"))
    ref = whisper.get_encoder().state_dict()
    for k, v in enc.encoder.state_dict().items():
        assert torch.equal(v, ref[k]), k
