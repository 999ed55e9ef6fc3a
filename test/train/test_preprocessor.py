"""CSSTPreprocessor: task prompts, text ids, audio."""

import logging

import numpy as np
import pytest

from espnet_csst.train.preprocessor import CSSTPreprocessor


def test_prompt_and_text_ids(tiny_preprocessor, tiny_codec):
    out = tiny_preprocessor("u1", {"speech": np.zeros(160, dtype=np.float64), "text": " the cat ",
                                   "src_text": "el gato", "task": "st es en"})
    assert out["prefix"][0] == tiny_codec.bos_id
    assert tiny_codec.decode(out["prefix"][1:]) == "Speech:"
    assert tiny_codec.decode(out["instruction"]) == "Translate the Spanish speech into English:"
    assert tiny_codec.decode(out["text"]) == "the cat" and tiny_codec.decode(out["src_text"]) == "el gato"
    assert "task" not in out and out["speech"].dtype == np.float32
    for key in ("prefix", "instruction", "text", "src_text"):
        assert out[key].dtype == np.int64
    # prompts never contain <unk>: the token list is trained on them
    assert tiny_codec.token_list.index("<unk>") not in out["prefix"].tolist() + out["instruction"].tolist()


def test_default_task_and_no_task(tiny_bpe):
    kw = dict(train=False, token_type="bpe", token_list=str(tiny_bpe["token_list"]), bpemodel=str(tiny_bpe["bpemodel"]))
    with_default = CSSTPreprocessor(default_task="asr en en", **kw)
    assert "prefix" in with_default("u", {"speech": np.zeros(10, dtype=np.float32)})
    # an explicit task wins over the default
    a = with_default("u", {"task": "st es en"})["instruction"]
    b = with_default("u", {"task": "asr en en"})["instruction"]
    assert a.tolist() != b.tolist()
    assert "prefix" not in CSSTPreprocessor(**kw)("u", {"speech": np.zeros(10, dtype=np.float32)})


def test_bad_task_names_the_utterance(tiny_preprocessor):
    with pytest.raises(ValueError, match="utterance u7: bad task spec"):
        tiny_preprocessor("u7", {"task": "translate es en"})


def test_multichannel_audio_is_averaged(tiny_preprocessor):
    stereo = np.stack([np.ones(100), 3 * np.ones(100)], axis=1)
    out = tiny_preprocessor("u", {"speech": stereo})
    assert out["speech"].shape == (100,) and np.allclose(out["speech"], 2.0)


def test_empty_text_warns(tiny_preprocessor, caplog):
    with caplog.at_level(logging.WARNING):
        out = tiny_preprocessor("u9", {"text": "  ", "task": "asr en en"})
    assert out["text"].size == 0
    assert any("u9" in r.getMessage() and "empty" in r.getMessage() for r in caplog.records)


def test_src_text_uses_its_own_token_list(tiny_bpe, tmp_path):
    from espnet_csst.llm.tokens import TextCodec
    from test.csst_utils import build_token_list, tiny_sentences

    text = tmp_path / "src.txt"
    text.write_text("\n".join(s.lower().rstrip(".") for s in tiny_sentences()) + "\n", encoding="utf-8")
    src = build_token_list(tmp_path / "src_list", text, vocab_size=60)
    pre = CSSTPreprocessor(train=True, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                           bpemodel=str(tiny_bpe["bpemodel"]), src_token_list=str(src["token_list"]),
                           src_bpemodel=str(src["bpemodel"]))
    out = pre("u", {"text": "The cat eats.", "src_text": "el gato come"})
    src_codec = TextCodec("bpe", src["token_list"], str(src["bpemodel"]))
    assert out["src_text"].tolist() == src_codec.encode("el gato come")
    assert out["text"].tolist() == pre.codec.encode("The cat eats.")
    assert max(out["src_text"]) < 60


def test_lang_ali_becomes_frame_labels_of_the_moe_groups(tiny_bpe):
    from espnet_csst.train.preprocessor import CSSTPreprocessor

    pre = CSSTPreprocessor(train=True, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                           bpemodel=str(tiny_bpe["bpemodel"]), languages=["es", "en"])
    out = pre("u1", {"lang_ali": "0.1 en 0.0 0.03 zh 0.03 0.05 es 0.07 0.1"})
    # 10 ms frames: en en en | zh (no group) | gap | es es es
    assert out["lang_labels"].tolist() == [1, 1, 1, -1, -1, -1, -1, 0, 0, 0]
    assert "lang_ali" not in out
    with pytest.raises(ValueError, match="utterance u2: bad lang_ali.*make_task_dir"):
        pre("u2", {"lang_ali": "1.0 es 0.0"})
    # without MoE groups the file is ignored
    plain = CSSTPreprocessor(train=True, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                             bpemodel=str(tiny_bpe["bpemodel"]))
    assert "lang_labels" not in plain("u1", {"lang_ali": "0.1 en 0 0.1"})
