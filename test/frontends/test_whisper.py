"""WhisperFrontend on a tiny random Whisper: features at the audio's length, layers, fine-tuning, cache key."""

import numpy as np
import pytest
import torch
from transformers import WhisperFeatureExtractor

from espnet_csst.frontends.whisper import WhisperFrontend, frontend_conf_is_cacheable

CONFIG = dict(d_model=32, encoder_layers=3, encoder_attention_heads=2, encoder_ffn_dim=64, decoder_layers=1,
              decoder_attention_heads=2, decoder_ffn_dim=64, num_mel_bins=80, max_source_positions=1500,
              vocab_size=100, eos_token_id=2, bos_token_id=1, pad_token_id=0, decoder_start_token_id=1)


def audio(seconds, seed=0):
    t = np.arange(int(seconds * 16000)) / 16000
    noise = 0.05 * np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * (200 + 100 * seed) * t) + noise).astype(np.float32)


def frontend(**kw):
    torch.manual_seed(0)
    return WhisperFrontend(config=CONFIG, **kw).eval()


def test_log_mel_of_an_utterance_is_whisper_s_on_its_frames():
    """Unpadded: the first n frames of Whisper's 30 s features, normalised the same way."""
    x = audio(1.3)
    front = frontend()
    ref = WhisperFeatureExtractor(feature_size=80)(x, sampling_rate=16000, return_tensors="pt").input_features
    n = x.size // 160
    feats = front.log_mel(torch.tensor(x)[None], torch.tensor([n]))[..., :n]
    torch.testing.assert_close(feats, ref[..., :n], rtol=0, atol=1e-4)


@pytest.mark.parametrize("layer", [1, 2, -1])
def test_layer_is_that_block_s_output(layer):
    """pad_to_window: frames of block `layer` (the final layer norm only after the last)."""
    x = audio(0.8)
    front = frontend(layer=layer, pad_to_window=True)
    full = frontend().encoder  # the same random weights, every block: transformers' own forward
    feats = torch.tensor(WhisperFeatureExtractor(feature_size=80)(x, sampling_rate=16000).input_features)
    with torch.no_grad():
        hidden = full(feats, output_hidden_states=True)
        out, lens = front(torch.tensor(x)[None], torch.tensor([x.size]))
    want = hidden.last_hidden_state if layer == -1 else hidden.hidden_states[layer]
    assert lens.tolist() == [40] and out.shape == (1, 40, 32)
    torch.testing.assert_close(out[0], want[0, :40], rtol=0, atol=1e-4)
    assert len(front.encoder.layers) == (3 if layer == -1 else layer)  # blocks above are dropped


def test_unpadded_batch_equals_each_utterance_alone_and_pads_with_zeros():
    front = frontend(layer=2)
    xs = [audio(1.0, 1), audio(0.45, 2), audio(0.7, 3)]
    lens = torch.tensor([x.size for x in xs])
    batch = torch.nn.utils.rnn.pad_sequence([torch.tensor(x) for x in xs], batch_first=True)
    with torch.no_grad():
        out, olens = front(batch, lens)
        assert olens.tolist() == [50, 23, 35]
        for i, x in enumerate(xs):
            alone, _ = front(torch.tensor(x)[None], lens[i: i + 1])
            torch.testing.assert_close(out[i, : olens[i]], alone[0], rtol=0, atol=1e-5)
            assert not out[i, olens[i]:].any()


def test_unpadded_frames_differ_from_padded_but_not_by_much():
    """Not a bug to hide: without the 30 s of silence Whisper's attention sees other context."""
    x = audio(1.0)
    with torch.no_grad():
        a, _ = frontend()(torch.tensor(x)[None], torch.tensor([x.size]))
        b, _ = frontend(pad_to_window=True)(torch.tensor(x)[None], torch.tensor([x.size]))
    assert a.shape == b.shape
    cos = torch.nn.functional.cosine_similarity(a[0], b[0], dim=-1)
    assert not torch.allclose(a, b) and cos.mean() > 0.5


def test_cached_frames_pass_through():
    front = frontend()
    frames, lens = torch.randn(2, 7, 32), torch.tensor([7, 5])
    out, olens = front(frames, lens)
    assert out is frames and olens is lens


def test_finetune_top_trains_only_the_top_blocks():
    front = frontend(finetune_top=1)
    trainable = {n for n, p in front.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("encoder.layers.2.", "encoder.layer_norm.")) for n in trainable)
    assert frontend().frozen and not front.frozen
    x = torch.tensor(audio(0.5))[None]
    front.train()
    out, _ = front(x, torch.tensor([x.size(1)]))
    out.sum().backward()
    assert front.encoder.layers[2].fc1.weight.grad is not None and front.encoder.layers[1].fc1.weight.grad is None
    everything = frontend(finetune_top=-1)
    assert everything.encoder.conv1.weight.requires_grad and everything.encoder.layers[0].fc1.weight.requires_grad


def test_trained_top_blocks_run_on_the_cached_frozen_frames():
    """finetune_top=1 of 3 blocks: the cache holds the two frozen blocks' output (what a frozen 2-block
    frontend gives, under the same key); the trained block on it equals the waveform path, gradients too."""
    front = frontend(finetune_top=1)
    xs = [audio(0.9, 1), audio(0.5, 2)]
    lens = torch.tensor([x.size for x in xs])
    wav = torch.nn.utils.rnn.pad_sequence([torch.tensor(x) for x in xs], batch_first=True)
    with torch.no_grad():
        cached, clens = front.frames_to_cache(wav, lens)
        frozen_two, _ = frontend(layer=2)(wav, lens)
    torch.testing.assert_close(cached, frozen_two, rtol=0, atol=0)
    assert front.cache_key() == frontend(layer=2).cache_key() != frontend().cache_key()
    assert front.cacheable and front.cached_blocks == 2
    front.train()
    out_wav, olens = front(wav, lens)
    out_wav.sum().backward()
    grad_wav = front.encoder.layers[2].fc1.weight.grad.clone()
    front.zero_grad()
    out_frames, flens = front(cached.half(), clens)  # the cache is float16 on disk
    out_frames.sum().backward()
    assert torch.equal(olens, flens)
    torch.testing.assert_close(out_frames, out_wav, rtol=0, atol=2e-2)
    torch.testing.assert_close(front.encoder.layers[2].fc1.weight.grad, grad_wav, rtol=0.05, atol=0.05)
    assert not out_frames[1, flens[1]:].any()
    # the trained block changes; the key, which names only the frozen part, does not
    with torch.no_grad():
        front.encoder.layers[2].fc1.weight.add_(1.0)
    assert front.cache_key() == frontend(layer=2).cache_key()


def test_what_can_be_cached():
    assert frontend().cacheable and frontend(finetune_top=2).cacheable
    assert not frontend(finetune_top=-1).cacheable and not frontend(finetune_top=3).cacheable
    assert not frontend(finetune_top=1, pad_to_window=True).cacheable  # its blocks attend to the 30 s padding
    with pytest.raises(ValueError, match="no frames can be cached"):
        frontend(finetune_top=-1).frames_to_cache(torch.zeros(1, 8000), torch.tensor([8000]))
    cases = [({}, True), ({"finetune_top": 2}, True), ({"finetune_top": 3}, False), ({"finetune_top": -1}, False),
             ({"finetune_top": 1, "layer": 1}, False), ({"finetune_top": 1, "pad_to_window": True}, False)]
    for conf, want in cases:
        assert frontend_conf_is_cacheable({"config": CONFIG, **conf}) is want, conf


def test_cache_key_names_weights_layer_and_padding():
    key = frontend(layer=2).cache_key()
    assert key == frontend(layer=2).cache_key()
    assert key["weights_sha256"] != frontend(layer=3).cache_key()["weights_sha256"]
    assert frontend(layer=2, pad_to_window=True).cache_key()["pad_to_window"] is True
    other = frontend(layer=2)
    with torch.no_grad():
        other.encoder.layers[0].fc1.weight.add_(1e-3)
    assert other.cache_key()["weights_sha256"] != key["weights_sha256"]


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="layer must be"):
        frontend(layer=4)
    with pytest.raises(ValueError, match="finetune_top"):
        frontend(layer=2, finetune_top=3)
    with pytest.raises(ValueError, match="16000 Hz"):
        frontend(fs=8000)
    with pytest.raises(ValueError, match="30 s"):
        frontend()(torch.zeros(1, 16000 * 31), torch.tensor([16000 * 31]))
