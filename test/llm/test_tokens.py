"""TextCodec (bpe) on a tiny sentencepiece model, and PromptTemplates."""

import pytest

from espnet_csst.llm.prompts import PromptTemplates, parse_task_spec
from espnet_csst.llm.tokens import TextCodec, read_token_list


def test_bpe_round_trip(tiny_codec):
    for sentence in ("The cat eats a good book.", "El perro come agua hoy"):
        ids = tiny_codec.encode(sentence)
        assert ids and all(0 <= i < tiny_codec.vocab_size for i in ids)
        assert tiny_codec.token_list.index("<unk>") not in ids
        assert tiny_codec.decode(ids) == sentence
        # special ids are dropped by decode
        assert tiny_codec.decode([tiny_codec.bos_id, *ids, tiny_codec.eos_id, tiny_codec.pad_id]) == sentence


def test_bpe_special_ids(tiny_codec):
    assert tiny_codec.pad_id == 0 and tiny_codec.token_list[0] == "<blank>"
    assert tiny_codec.bos_id == tiny_codec.eos_id == tiny_codec.vocab_size - 1
    assert tiny_codec.token_list[tiny_codec.eos_id] == "<sos/eos>"
    assert tiny_codec.ids_to_tokens([tiny_codec.vocab_size + 5]) == ["<unk>"]


def test_missing_bpemodel_is_a_clear_error(tiny_bpe, tmp_path):
    with pytest.raises(FileNotFoundError, match="bpemodel"):
        TextCodec("bpe", tiny_bpe["token_list"], str(tmp_path / "missing.model"))
    with pytest.raises(FileNotFoundError, match="sentencepiece model"):
        TextCodec("bpe", tiny_bpe["token_list"], None)


def test_missing_token_list_file(tiny_bpe, tmp_path):
    with pytest.raises(FileNotFoundError, match="token list"):
        TextCodec("bpe", tmp_path / "tokens.txt", str(tiny_bpe["bpemodel"]))


def test_token_list_without_sos_eos(tiny_bpe, tmp_path):
    tokens = read_token_list(tiny_bpe["token_list"])
    assert tokens[-1] == "<sos/eos>"
    with pytest.raises(ValueError, match="<sos/eos>"):
        TextCodec("bpe", tokens[:-1], str(tiny_bpe["bpemodel"]))


def test_bad_token_type(tiny_bpe):
    with pytest.raises(ValueError, match="token_type"):
        TextCodec("char", tiny_bpe["token_list"], str(tiny_bpe["bpemodel"]))


def test_empty_token_list(tmp_path):
    (tmp_path / "tokens.txt").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_token_list(tmp_path / "tokens.txt")


def test_prompt_render_names_the_languages():
    prefix, instruction = PromptTemplates().render("st es en")
    assert prefix == "Speech:"
    assert "Spanish" in instruction and "English" in instruction
    assert instruction.index("Spanish") < instruction.index("English")
    assert "English" in PromptTemplates().render("asr en en")[1]


def test_prompt_custom_templates():
    p = PromptTemplates({"st": "From {src} to {tgt}:"}, language_names={"xx": "Klingon"})
    assert p.render("st xx en") == ("Speech:", "From Klingon to English:")
    assert p.render("st yy en")[1] == "From yy to English:"  # unknown codes are kept as they are


@pytest.mark.parametrize("spec", ["", "st es", "st es en extra", "translate es en", "ST es en"])
def test_bad_task_spec(spec):
    with pytest.raises(ValueError, match="task spec"):
        PromptTemplates().render(spec)
    with pytest.raises(ValueError):
        parse_task_spec(spec)


def test_unknown_template_key():
    with pytest.raises(ValueError, match="unknown prompt template keys"):
        PromptTemplates({"mt": "x"})


def test_all_strings_cover_every_task_and_pair():
    strings = PromptTemplates().all_strings(["es", "en"])
    assert strings[0] == "Speech:"
    assert len(strings) == 1 + 2 * 4
    assert "Translate the Spanish speech into English:" in strings
