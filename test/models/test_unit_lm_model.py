"""ESPnetUnitLMModel: interleaved sequences, pure units in eval, schedule state, unit-only decoding."""

import numpy as np
import pytest
import torch

from espnet2.train.collate_fn import CommonCollateFn

from espnet_csst.llm.hf_causal_lm import HFCausalLM
from espnet_csst.models.unit_lm_model import ESPnetUnitLMModel
from espnet_csst.train.unit_preprocessor import UnitLMPreprocessor
from test.csst_utils import LLM_CONFIG

K = 12


def make_model(codec, seed=0, n_src_units=0, **conf):
    torch.manual_seed(seed)
    llm = HFCausalLM(vocab_size=codec.vocab_size, pad_id=codec.pad_id, bos_id=codec.bos_id,
                     eos_id=codec.eos_id, config=dict(LLM_CONFIG), extra_tokens=K + n_src_units)
    return ESPnetUnitLMModel(llm=llm, n_units=K, unit_offset=llm.extra_token_offset, n_src_units=n_src_units,
                             **conf)


@pytest.fixture(scope="module")
def batch(tiny_bpe):
    pre = UnitLMPreprocessor(train=True, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                             bpemodel=str(tiny_bpe["bpemodel"]), n_units=K, default_task="s2st es en")
    rng = np.random.default_rng(0)
    items = []
    for k, (src_words, tgt_words) in enumerate([("el gato come", "the cat eats"), ("hoy", "today")]):
        n_src, n_tgt = 4 * len(src_words.split()) + 2, 4 * len(tgt_words.split()) + 1
        src_wf = " ".join(f"{1 + 4 * i} {5 + 4 * i} {w}" for i, w in enumerate(src_words.split()))
        tgt_wf = " ".join(f"{4 * i} {4 + 4 * i} {w}" for i, w in enumerate(tgt_words.split()))
        data = {"src_units": rng.integers(0, K, n_src), "tgt_units": rng.integers(0, K, n_tgt),
                "src_word_frames": src_wf, "tgt_word_frames": tgt_wf}
        items.append((f"u{k}", pre(f"u{k}", data)))
    return CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)(items)[1]


def test_full_interleaving_trains_on_text_and_eval_sees_pure_units(tiny_codec, batch):
    model = make_model(tiny_codec, interleave_schedule="constant", interleave_p0=1.0).train()
    loss, stats, _ = model(**batch)
    assert torch.isfinite(loss)
    assert float(stats["text_share"]) > 0.3  # the target's words are text
    assert int(model.interleave_step) == 1
    model.eval()
    with torch.no_grad():
        _, stats, _ = model(**batch)
    assert float(stats["text_share"]) < 0.2  # only EOS is not a unit
    assert float(stats["interleave_p"]) == 0.0
    assert int(model.interleave_step) == 1  # validation does not advance the schedule


def test_no_interleaving_is_pure_units(tiny_codec, batch):
    model = make_model(tiny_codec, interleave_schedule="none").train()
    _, stats, _ = model(**batch)
    assert float(stats["text_share"]) < 0.2


def test_source_only_interleaving_leaves_the_target_units(tiny_codec, batch):
    model = make_model(tiny_codec, interleave_schedule="constant", interleave_p0=1.0, interleave_tgt=False).train()
    _, stats, _ = model(**batch)
    assert float(stats["text_share"]) < 0.2
    srcs = model.side_sequences("src", batch["src_units"], batch["src_units_lengths"], batch["src_spans"],
                                batch["src_spans_lengths"], batch["src_words"], batch["src_words_lengths"],
                                batch["src_word_lens"], batch["src_word_lens_lengths"], 1.0, True,
                                __import__("random").Random(0))
    assert not all(srcs[0][1])  # the source has text


def test_schedule_state_resumes_from_a_checkpoint(tiny_codec, batch):
    model = make_model(tiny_codec, interleave_interval=2).train()
    for _ in range(5):
        model(**batch)
    assert model.current_ratio() == pytest.approx(0.7)  # floor(5 / 2) = 2 decays of 0.1
    resumed = make_model(tiny_codec, seed=1, interleave_interval=2).train()
    resumed.load_state_dict(model.state_dict())
    assert int(resumed.interleave_step) == 5
    assert resumed.current_ratio() == model.current_ratio()
    # the same step draws the same interleaving: identical losses
    torch.manual_seed(0)
    a = model(**batch)[0]
    torch.manual_seed(0)
    b = resumed(**batch)[0]
    assert torch.allclose(a, b)


def test_generate_emits_only_units(tiny_codec, batch):
    model = make_model(tiny_codec).eval()
    hyps = model.generate(batch["src_units"], batch["src_units_lengths"], batch["prefix"],
                          batch["prefix_lengths"], batch["instruction"], batch["instruction_lengths"],
                          max_new_tokens=6)
    assert len(hyps) == 2
    for nbest in hyps:
        assert 0 < len(nbest[0]["units"]) <= 6 or nbest[0]["units"] == []
        assert all(0 <= u < K for u in nbest[0]["units"])
    beam = model.generate(batch["src_units"], batch["src_units_lengths"], batch["prefix"],
                          batch["prefix_lengths"], batch["instruction"], batch["instruction_lengths"],
                          max_new_tokens=6, beam_size=2, nbest=2)
    assert len(beam[0]) == 2


def test_out_of_range_units_name_the_utterance(tiny_bpe):
    pre = UnitLMPreprocessor(train=True, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                             bpemodel=str(tiny_bpe["bpemodel"]), n_units=K, default_task="s2st es en")
    with pytest.raises(ValueError, match="uttX.*k-means"):
        pre("uttX", {"src_units": np.array([1, K + 3]), "tgt_units": np.array([1])})


def test_too_long_sequences_are_refused_with_the_fix(tiny_codec, batch):
    model = make_model(tiny_codec).train()
    big = dict(batch)
    big["src_units"] = torch.zeros(2, 200, dtype=torch.long)
    big["src_units_lengths"] = torch.tensor([200, 200])
    big.pop("src_spans")
    with pytest.raises(ValueError, match="max_units"):
        model(**big)


K_SRC = 5


def test_a_source_inventory_of_its_own_has_the_tokens_after_the_targets(tiny_codec, batch):
    """--n_src_units: source unit k is token offset + K + k, in training, scoring and decoding; the
    target keeps tokens offset..offset + K - 1 and decoding still emits target units only."""
    import random

    model = make_model(tiny_codec, n_src_units=K_SRC, interleave_schedule="none").eval()
    first = model.unit_offset
    src = [u[: int(n)] for u, n in zip(batch["src_units"].tolist(), batch["src_units_lengths"].tolist())]
    src = torch.tensor([[u % K_SRC for u in us] + [-1] * (batch["src_units"].size(1) - len(us)) for us in src])
    pure = model.pure_units(src, batch["src_units_lengths"], "src")
    assert pure[0][0] == [first + K + u % K_SRC for u in batch["src_units"][0, : len(pure[0][0])].tolist()]
    tgt = model.pure_units(batch["tgt_units"], batch["tgt_units_lengths"], "tgt")
    assert all(first <= t < first + K for t in tgt[0][0])
    # interleaved: the source's unit spans keep their own tokens, its words become text
    mixed = model.side_sequences("src", src, batch["src_units_lengths"], batch["src_spans"],
                                 batch["src_spans_lengths"], batch["src_words"], batch["src_words_lengths"],
                                 batch["src_word_lens"], batch["src_word_lens_lengths"], 0.5, True, random.Random(1))
    for ids, is_unit in mixed:
        assert all(first + K <= t < first + K + K_SRC for t, u in zip(ids, is_unit) if u)
        assert all(t < first for t, u in zip(ids, is_unit) if not u)

    seen = []
    embed = model.llm.embed
    model.llm.embed = lambda ids: seen.append(ids.clone()) or embed(ids)
    hyps = model.generate(src, batch["src_units_lengths"], batch["prefix"], batch["prefix_lengths"],
                          batch["instruction"], batch["instruction_lengths"], max_new_tokens=6, use_cache=False)
    prompt = seen[0][0].tolist()
    assert sum(first + K <= t < first + K + K_SRC for t in prompt) == int(batch["src_units_lengths"][0])
    assert not any(first <= t < first + K for t in prompt)  # no source unit read as a target unit
    assert all(0 <= u < K for nb in hyps for u in nb[0]["units"])
    batch_src = dict(batch, src_units=src)
    acc = model.unit_accuracy(batch_src["src_units"], batch["src_units_lengths"], batch["tgt_units"],
                              batch["tgt_units_lengths"], batch["prefix"], batch["prefix_lengths"],
                              batch["instruction"], batch["instruction_lengths"])
    assert [n for _, n in acc] == batch["tgt_units_lengths"].tolist()


def test_a_source_inventory_needs_its_rows_in_the_llm(tiny_codec):
    torch.manual_seed(0)
    llm = HFCausalLM(vocab_size=tiny_codec.vocab_size, pad_id=tiny_codec.pad_id, bos_id=tiny_codec.bos_id,
                     eos_id=tiny_codec.eos_id, config=dict(LLM_CONFIG), extra_tokens=K)
    with pytest.raises(ValueError, match=f"extra_tokens={K + K_SRC}"):
        ESPnetUnitLMModel(llm=llm, n_units=K, unit_offset=llm.extra_token_offset, n_src_units=K_SRC)
    with pytest.raises(ValueError, match="n_src_units must be >= 0"):
        ESPnetUnitLMModel(llm=llm, n_units=K, unit_offset=llm.extra_token_offset, n_src_units=-1)


def test_source_units_are_checked_against_their_own_inventory(tiny_bpe):
    pre = UnitLMPreprocessor(train=True, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                             bpemodel=str(tiny_bpe["bpemodel"]), n_units=K, n_src_units=K + 8,
                             default_task="s2st es en")
    out = pre("u1", {"src_units": np.array([1, K + 3]), "tgt_units": np.array([1, K - 1])})
    assert out["src_units"].tolist() == [1, K + 3]
    with pytest.raises(ValueError, match="u2: src_units.*outside 0..19.*n_src_units"):
        pre("u2", {"src_units": np.array([K + 8]), "tgt_units": np.array([1])})
    with pytest.raises(ValueError, match="u3: tgt_units.*outside 0..11.*n_units"):
        pre("u3", {"src_units": np.array([1]), "tgt_units": np.array([K + 3])})
