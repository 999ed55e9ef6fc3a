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


def make_model(codec, seed=0, **conf):
    torch.manual_seed(seed)
    llm = HFCausalLM(vocab_size=codec.vocab_size, pad_id=codec.pad_id, bos_id=codec.bos_id,
                     eos_id=codec.eos_id, config=dict(LLM_CONFIG), extra_tokens=K)
    return ESPnetUnitLMModel(llm=llm, n_units=K, unit_offset=llm.extra_token_offset, **conf)


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
    srcs = model.side_sequences(batch["src_units"], batch["src_units_lengths"], batch["src_spans"],
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
