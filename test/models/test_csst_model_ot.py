"""The OT alignment loss inside ESPnetCSSTModel (AI-STA, DESIGN.md 3.3)."""

import pytest
import torch

from espnet_csst.losses.ot_align import gather_positions, ot_alignment_cost
from test.csst_utils import make_batch, random_speech, tiny_model

TASKS = ["asr en en", "st es en"]
TEXTS = ["the cat eats a good book", "the dog drinks water"]
SOURCES = ["the cat eats a good book", "el perro bebe agua hoy"]


@pytest.fixture
def batch(tiny_preprocessor):
    b = make_batch(tiny_preprocessor, random_speech([0.5, 0.8]), TASKS, TEXTS)
    src = make_batch(tiny_preprocessor, random_speech([0.5, 0.8]), TASKS, SOURCES)
    return dict(b, src_llm=src["text"], src_llm_lengths=src["text_lengths"])


def test_ot_loss_is_added_per_layer_and_matches_the_reference(tiny_codec, batch):
    plain = tiny_model(tiny_codec)
    model = tiny_model(tiny_codec, ot_weight=0.5, ot_layers=[2, 1])
    model.eval()  # no dropout: the reference below recomputes the same forward
    loss, stats, _ = model(**batch)
    assert model.ot_layers == [1, 2]
    torch.testing.assert_close(stats["loss_ce"], plain.eval()(**batch)[1]["loss_ce"])
    torch.testing.assert_close(stats["loss_ot"], (stats["loss_ot_l1"] + stats["loss_ot_l2"]) / 2)
    torch.testing.assert_close(loss.detach(), stats["loss_ce"] + 0.5 * stats["loss_ot"])

    # the reference: speech states of the full forward against a text-only forward of the transcript
    sp, sp_lens = model.speech_embeddings(batch["speech"], batch["speech_lengths"])
    seq = model.build_sequences(sp, sp_lens, batch["prefix"], batch["prefix_lengths"], batch["instruction"],
                                batch["instruction_lengths"], batch["text"], batch["text_lengths"])
    hs = model.llm(seq["inputs_embeds"], seq["attention_mask"], output_hidden_states=True)["hidden_states"]
    th, tmask = model.text_hidden_states(batch["prefix"], batch["prefix_lengths"], batch["instruction"],
                                         batch["instruction_lengths"], batch["src_llm"], batch["src_llm_lengths"])
    h_s, n_s = gather_positions(hs[2], seq["speech_mask"])
    h_t, n_t = gather_positions(th[2], tmask)
    assert n_t.tolist() == batch["src_llm_lengths"].tolist() and n_s.tolist() == sp_lens.tolist()
    assert float(stats["loss_ot_l2"]) == pytest.approx(float(ot_alignment_cost(h_s, n_s, h_t, n_t).mean().detach()), rel=1e-5)


def test_ot_gradient_reaches_the_speech_side_not_the_detached_text_side(tiny_codec, batch):
    model = tiny_model(tiny_codec, ot_weight=1.0, ot_layers=[1])
    model.train()
    # backpropagate the OT term alone
    hidden_loss, _ = _ot_only(model, batch)
    hidden_loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.projector.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())
    # the embeddings of the transcript's tokens get nothing: the text forward is detached
    table = model.llm.embed_table()
    src_ids = batch["src_llm"][batch["src_llm"] >= 0].unique()
    prompt_ids = torch.cat([batch["prefix"][batch["prefix"] >= 0], batch["instruction"][batch["instruction"] >= 0]])
    only_src = [int(i) for i in src_ids if int(i) not in set(prompt_ids.tolist())]
    assert only_src and table.grad is not None
    assert table.grad[only_src].abs().sum() == 0


def _ot_only(model, batch):
    sp, sp_lens = model.speech_embeddings(batch["speech"], batch["speech_lengths"])
    seq = model.build_sequences(sp, sp_lens, batch["prefix"], batch["prefix_lengths"], batch["instruction"],
                                batch["instruction_lengths"], batch["text"], batch["text_lengths"])
    hs = model.llm(seq["inputs_embeds"], seq["attention_mask"], output_hidden_states=True)["hidden_states"]
    return model.ot_alignment(hs, seq["speech_mask"], batch["prefix"], batch["prefix_lengths"],
                              batch["instruction"], batch["instruction_lengths"], batch["src_llm"],
                              batch["src_llm_lengths"])


def test_undetached_text_side_gets_gradient(tiny_codec, batch):
    model = tiny_model(tiny_codec, ot_weight=1.0, ot_layers=[2], ot_detach_text=False)
    model.train()
    loss, _ = _ot_only(model, batch)
    loss.backward()
    src_ids = batch["src_llm"][batch["src_llm"] >= 0].unique()
    assert model.llm.embed_table().grad[src_ids].abs().sum() > 0


def test_ot_needs_layers_in_range_and_the_transcript(tiny_codec, batch):
    with pytest.raises(ValueError, match="ot_layers"):
        tiny_model(tiny_codec, ot_weight=1.0)
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        tiny_model(tiny_codec, ot_weight=1.0, ot_layers=[3])
    model = tiny_model(tiny_codec, ot_weight=1.0, ot_layers=[1])
    no_src = {k: v for k, v in batch.items() if not k.startswith("src_llm")}
    with pytest.raises(ValueError, match="src_llm"):
        model(**no_src)


def test_preprocessor_adds_llm_ids_of_the_transcript(tiny_codec, tiny_bpe):
    from espnet_csst.train.preprocessor import CSSTPreprocessor

    pre = CSSTPreprocessor(train=True, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                           bpemodel=str(tiny_bpe["bpemodel"]), src_llm_ids=True)
    out = pre("u1", {"text": "the cat", "src_text": " el gato ", "task": "st es en"})
    assert out["src_llm"].tolist() == tiny_codec.encode("el gato")
    assert "src_llm" not in CSSTPreprocessor(train=True, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                                             bpemodel=str(tiny_bpe["bpemodel"]))("u1", {"text": "a", "src_text": "b"})
