"""make_token_list (bpe): ESPnet token list layout, prompts as whole pieces."""

from espnet_csst.bin import make_token_list
from espnet_csst.llm.prompts import PromptTemplates
from espnet_csst.llm.tokens import TextCodec, read_token_list


def test_token_list_layout(tiny_bpe):
    tokens = read_token_list(tiny_bpe["token_list"])
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert len(tokens) == len(set(tokens)) == 150
    assert not {"<s>", "</s>"} & set(tokens)


def test_prompts_tokenise_without_unk(tiny_codec):
    unk = tiny_codec.token_list.index("<unk>")
    for s in PromptTemplates().all_strings(["es", "en"]):
        ids = tiny_codec.encode(s)
        assert unk not in ids, s
        assert tiny_codec.decode(ids) == s


def test_kaldi_text_and_plain_text(tmp_path):
    (tmp_path / "text").write_text("".join(f"utt{i} el gato come {i} peces\n" for i in range(50)) + "utt_empty\n")
    (tmp_path / "plain.txt").write_text("the dog runs\nthe cat sleeps\n" * 20)
    out = tmp_path / "tl"
    assert make_token_list.main(["--out", str(out), "--vocab_size", "50", "--languages", "es", "en",
                                 "--kaldi_text", str(tmp_path / "text"), "--text", str(tmp_path / "plain.txt")]) == 0
    codec = TextCodec("bpe", out / "tokens.txt", str(out / "bpe.model"))
    assert codec.vocab_size == 50
    # the utterance ids are not part of the training text: "utt" is no piece of its own
    assert "▁utt" not in codec.token_list
    assert codec.decode(codec.encode("el gato come peces")) == "el gato come peces"
    assert codec.token_list.index("<unk>") not in codec.encode("Transcribe the Spanish speech:")
    assert not list(out.glob("*.txt.tmp")) and sorted(p.name for p in out.iterdir()) == [
        "bpe.model", "bpe.vocab", "tokens.txt"]


def test_no_text_is_an_error(tmp_path, capsys):
    assert make_token_list.main(["--out", str(tmp_path / "tl")]) == 2
    assert "--text or --kaldi_text" in capsys.readouterr().err
    assert make_token_list.main(["--token_type", "hugging_face", "--out", str(tmp_path / "tl")]) == 2
    assert "--tokenizer" in capsys.readouterr().err
