"""Batched (left-padded) greedy generation equals one-at-a-time generation.

Exactness is checked where batching can be exact: a frontend-less model whose
encoder does not subsample (input_layer linear) gives every utterance the same
speech tokens alone and in a batch, so any difference comes from the projector,
the left padding, the position ids or the KV cache. With the recipe's layout
(waveform frontend, conv2d subsampling), ESPnet's STFT sees zeros instead of
reflected samples at a padded utterance's end and Conv2dSubsampling's mask gives
padded utterances one or two extra frames, so only the token ids are compared.
"""

import pytest
import torch

from test.csst_utils import make_batch, random_feats, random_speech, tiny_model

TRAIN_TEXTS = ["the cat eats a good book", "el perro come agua hoy"]
TRAIN_TASKS = ["asr en en", "st es en"]
# three utterances of different lengths and prompt lengths: every row is padded differently
TASKS = ["st es en", "asr en en", "asr es es"]


def train_a_little(model, batch, steps=20):
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        loss = model(**batch)[0].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def generate(model, batch, **kw):
    return model.generate(batch["speech"], batch["speech_lengths"], batch["prefix"], batch["prefix_lengths"],
                          batch["instruction"], batch["instruction_lengths"], max_new_tokens=12, **kw)


def compare(model, pre, inputs, exact_scores, **kw):
    batch = make_batch(pre, inputs, TASKS)
    assert len(set(batch["speech_lengths"].tolist())) == 3
    batched = generate(model, batch, **kw)
    assert len(batched) == 3
    for i in range(3):
        alone = generate(model, make_batch(pre, [inputs[i]], [TASKS[i]]), **kw)
        assert batched[i][0]["token_int"] == alone[0][0]["token_int"], f"utterance {i} differs"
        assert batched[i][0]["token_int"], "empty hypothesis: the check would be vacuous"
        if exact_scores:
            assert batched[i][0]["score"] == pytest.approx(alone[0][0]["score"], abs=1e-5)
    return batched


@pytest.mark.parametrize("use_cache", [True, False])
def test_batched_equals_unbatched_random_model(tiny_codec, tiny_preprocessor, use_cache):
    """A random model writes long, varied continuations: positions and cache over many steps."""
    model = tiny_model(tiny_codec, frontend=False, input_layer="linear").eval()
    out = compare(model, tiny_preprocessor, random_feats([45, 83, 64], seed=2), True, use_cache=use_cache)
    assert max(len(h[0]["token_int"]) for h in out) > 3


def test_batched_equals_unbatched_trained_model(tiny_codec, tiny_preprocessor):
    model = tiny_model(tiny_codec, frontend=False, input_layer="linear")
    train_a_little(model, make_batch(tiny_preprocessor, random_feats([60, 90], seed=1), TRAIN_TASKS, TRAIN_TEXTS))
    compare(model, tiny_preprocessor, random_feats([45, 83, 64], seed=2), True)


def test_batched_equals_unbatched_waveform_conv2d(tiny_codec, tiny_preprocessor):
    model = tiny_model(tiny_codec)
    train_a_little(model, make_batch(tiny_preprocessor, random_speech([0.6, 0.9], seed=1), TRAIN_TASKS, TRAIN_TEXTS))
    compare(model, tiny_preprocessor, random_speech([0.45, 0.83, 0.64], seed=2), False)
