"""llm_pretrain: a few steps on tiny text; the weights load into the CSST model's llm."""

import json

import pytest
import torch

from espnet_csst.bin import llm_pretrain
from espnet_csst.llm.prompts import PromptTemplates
from espnet_csst.tasks.csst import CSSTTask
from test.csst_utils import tiny_sentences, write_config


@pytest.fixture
def text_pair(tmp_path):
    lines = tiny_sentences(40, seed=5)
    (tmp_path / "src.es").write_text("\n".join(lines[1::2]) + "\n")
    (tmp_path / "tgt.en").write_text("\n".join(lines[0::2]) + "\n")
    return tmp_path / "src.es", tmp_path / "tgt.en"


def test_pretrained_llm_loads_into_the_csst_model(tiny_bpe, tmp_path, text_pair):
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "llm"
    test_dir = tmp_path / "test_st_x"
    test_dir.mkdir()
    (test_dir / "src_text").write_text("b el gato come\na la casa\n", encoding="utf-8")
    (test_dir / "task").write_text("a st es en\nb st es en\n", encoding="utf-8")
    rc = llm_pretrain.main(["--decode_dir", str(test_dir), "--config", str(config), "--token_list", str(tiny_bpe["token_list"]),
                            "--bpemodel", str(tiny_bpe["bpemodel"]),
                            "--pair", "st es en", str(text_pair[0]), str(text_pair[1]), "1.0",
                            "--pair", "asr en en", str(text_pair[1]), str(text_pair[1]), "0.5",
                            "--out", str(out), "--steps", "3", "--batch_size", "4", "--warmup", "1",
                            "--n_dev", "4", "--log_interval", "1"])
    assert rc == 0
    history = json.loads((out / "history.json").read_text())
    assert [h["step"] for h in history] == [1, 2, 3] and "dev_loss" in history[-1]
    # the text-translation BLEU of held-out pairs, for translation tasks only
    assert 0.0 <= history[-1]["dev_bleu_st_es_en"] <= 100.0
    assert not any(k.startswith("dev_bleu_asr") for h in history for k in h)
    # the test dir's gold transcripts, translated: one line per utterance, sorted
    hyps = (out / "decode_test_st_x" / "text").read_text(encoding="utf-8").splitlines()
    assert [h.split(" ")[0] for h in hyps] == ["a", "b"]
    assert all(torch.isfinite(torch.tensor(h["train_loss"])) for h in history)

    state = torch.load(out / "llm.pth", map_location="cpu")
    args = CSSTTask.get_parser().parse_args(["--config", str(config), "--token_list", str(tiny_bpe["token_list"]),
                                             "--bpemodel", str(tiny_bpe["bpemodel"])])
    model = CSSTTask.build_model(args)
    expected = model.llm.state_dict()
    assert set(state) == set(expected)
    for k, v in state.items():
        assert v.shape == expected[k].shape, k
    # the recipe's --init_param <out>/llm.pth::llm
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    load_pretrained_model(f"{out / 'llm.pth'}::llm", model, ignore_init_mismatch=False, map_location="cpu")
    for k, v in model.llm.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_sequence_layout(tiny_codec):
    builder = llm_pretrain.SequenceBuilder(tiny_codec, PromptTemplates())
    ids, labels = builder.build("st es en", "el gato", "the cat")
    prefix = [tiny_codec.bos_id] + tiny_codec.encode("Speech:")
    src, tgt = tiny_codec.encode("el gato"), tiny_codec.encode("the cat")
    ins = tiny_codec.encode("Translate the Spanish speech into English:")
    assert ids == prefix + src + ins + tgt + [tiny_codec.eos_id]
    assert labels == [-100] * len(prefix) + src + [-100] * len(ins) + tgt + [tiny_codec.eos_id]


def test_pretrained_llm_config_is_refused(tiny_bpe, tmp_path, text_pair):
    config = write_config(tmp_path / "c.yaml", llm_conf={"model_name_or_path": str(tmp_path)})
    with pytest.raises(SystemExit, match="pretrained"):
        llm_pretrain.main(["--config", str(config), "--token_list", str(tiny_bpe["token_list"]),
                           "--bpemodel", str(tiny_bpe["bpemodel"]),
                           "--pair", "st es en", str(text_pair[0]), str(text_pair[1]), "1.0",
                           "--out", str(tmp_path / "llm"), "--steps", "1", "--n_dev", "2"])


def test_misaligned_pair_files(tmp_path):
    (tmp_path / "a").write_text("x\ny\n")
    (tmp_path / "b").write_text("x\n")
    with pytest.raises(ValueError, match="must align"):
        llm_pretrain.read_pairs(tmp_path / "a", tmp_path / "b")



def test_text_bleu_scores_each_hypothesis_against_its_own_reference(tiny_codec):
    """Prompts are left-padded and hypotheses come back in the pairs' order."""
    builder = llm_pretrain.SequenceBuilder(tiny_codec, PromptTemplates())
    pairs = [("el gato", "the cat"), ("un perro grande come", "a big dog eats"), ("sí", "yes")]
    answers = {tuple(builder.prompt("st es en", s)): tiny_codec.encode(t) for s, t in pairs}

    class ParrotLLM(torch.nn.Module):
        def embed(self, ids):
            return ids.unsqueeze(-1).float()

        def generate(self, embeds, mask, max_new_tokens):
            assert bool(mask[:, -1].all()), "every prompt must end at the last column"
            rows = []
            for e, m in zip(embeds, mask):
                prompt = tuple(int(x) for x in e[m.bool(), 0])
                rows.append([{"token_int": answers[prompt], "score": 0.0}])
            return rows

    assert llm_pretrain.text_bleu(ParrotLLM(), tiny_codec, builder, "st es en", pairs, batch_size=2) == pytest.approx(100.0)
    swapped = [(s, t) for (s, _), (_, t) in zip(pairs, pairs[1:] + pairs[:1])]
    assert llm_pretrain.text_bleu(ParrotLLM(), tiny_codec, builder, "st es en", swapped, batch_size=2) < 10.0
