"""CSSTTask: config parsing, class choices, model building, --print_config, token lists."""

import subprocess
import sys

import pytest
import torch
import yaml

from espnet_csst.llm.hf_causal_lm import HFCausalLM
from espnet_csst.llm.tokens import TextCodec
from espnet_csst.models.csst_model import ESPnetCSSTModel
from espnet_csst.projectors.conv1d import Conv1dProjector
from espnet_csst.projectors.linear import LinearProjector
from espnet_csst.tasks.csst import CSSTTask
from test.csst_utils import random_speech, subprocess_env, write_config


def parse(tiny_bpe, config, *extra):
    return CSSTTask.get_parser().parse_args(
        ["--config", str(config), "--token_list", str(tiny_bpe["token_list"]),
         "--bpemodel", str(tiny_bpe["bpemodel"]), *extra])


def test_yaml_config_is_parsed(tiny_bpe, tmp_path):
    args = parse(tiny_bpe, write_config(tmp_path / "c.yaml"))
    assert args.projector == "linear" and args.projector_conf == {"downsample": 2, "hidden_size": 64}
    assert args.llm == "hf_causal_lm" and args.llm_conf["config"]["hidden_size"] == 32
    assert args.encoder == "transformer" and args.encoder_conf["num_blocks"] == 1
    assert args.token_type == "bpe" and args.max_epoch == 2
    # the command line overrides the config
    args = parse(tiny_bpe, write_config(tmp_path / "c.yaml"), "--projector", "conv1d", "--max_epoch", "5")
    assert args.projector == "conv1d" and args.max_epoch == 5


def test_build_model_from_config(tiny_bpe, tmp_path):
    args = parse(tiny_bpe, write_config(tmp_path / "c.yaml"))
    model = CSSTTask.build_model(args)
    assert isinstance(model, ESPnetCSSTModel)
    assert isinstance(model.projector, LinearProjector) and model.projector.downsample == 2
    assert isinstance(model.llm, HFCausalLM) and model.llm.hidden_size() == 32
    assert model.llm.max_positions() == 128 and model.llm.num_layers() == 2
    # the vocabulary is kept inside the config so that a packed model is self-contained
    tokens = tiny_bpe["token_list"].read_text(encoding="utf-8").splitlines()
    assert args.token_list == tokens and model.llm.vocab_size() == len(tokens)
    assert model.llm.eos_id == len(tokens) - 1 and model.llm.pad_id == 0

    # the task's own preprocessor and collate function feed the model
    pre = CSSTTask.build_preprocess_fn(args, train=True)
    collate = CSSTTask.build_collate_fn(args, train=True)
    items = [(f"u{i}", pre(f"u{i}", {"speech": sp, "text": t, "task": task}))
             for i, (sp, t, task) in enumerate(zip(random_speech([0.4, 0.6]), ["the cat", "el gato come"],
                                                    ["asr en en", "st es en"]))]
    _, batch = collate(items)
    assert batch["prefix"][0, 0] == model.llm.bos_id
    loss, stats, weight = model(**batch)
    assert torch.isfinite(loss).all() and int(weight) == 2


def test_conv1d_projector_and_gpt2_llm(tiny_bpe, tmp_path):
    config = write_config(tmp_path / "c.yaml", projector="conv1d", projector_conf={"downsample": 3, "hidden_size": 16},
                          llm_conf={"arch": "gpt2", "config": {"n_embd": 24, "n_layer": 1, "n_head": 2,
                                                               "n_positions": 64}})
    model = CSSTTask.build_model(parse(tiny_bpe, config))
    assert isinstance(model.projector, Conv1dProjector) and model.projector.output_size() == 24
    assert model.llm.hidden_size() == 24 and model.llm.max_positions() == 64


@pytest.mark.parametrize("key,value,valid", [
    ("projector", "foo", "'linear', 'conv1d'"),
    ("llm", "gpt", "'hf_causal_lm'"),
    ("encoder", "wav2vec", "'conformer'"),
])
def test_unknown_class_in_config_is_an_argparse_error(tiny_bpe, tmp_path, capsys, key, value, valid):
    config = write_config(tmp_path / "c.yaml", **{key: value})
    with pytest.raises(SystemExit) as e:
        parse(tiny_bpe, config)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --{key}" in err and f"invalid choice: {value!r}" in err and valid in err


def test_unknown_class_on_command_line(tiny_bpe, tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse(tiny_bpe, write_config(tmp_path / "c.yaml"), "--projector", "foo")
    assert "invalid choice: 'foo'" in capsys.readouterr().err


def test_unknown_config_key(tiny_bpe, tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"projectr": "linear"}))
    with pytest.raises(SystemExit):
        parse(tiny_bpe, config)
    assert "unrecognized arguments: projectr" in capsys.readouterr().err


def test_optional_class_none_in_config(tiny_bpe, tmp_path):
    args = parse(tiny_bpe, write_config(tmp_path / "c.yaml", normalize=None, specaug=None))
    assert args.normalize is None and args.specaug is None
    assert CSSTTask.build_model(args).normalize is None


@pytest.mark.slow
def test_print_config(tmp_path):
    r = subprocess.run([sys.executable, "-m", "espnet_csst.bin.csst_train", "--print_config"],
                       capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "projector: linear" in r.stdout and "llm: hf_causal_lm" in r.stdout
    conf = yaml.safe_load(r.stdout)
    assert conf["projector_conf"]["downsample"] == 4 and conf["token_type"] == "bpe"
    assert set(conf["prompt_templates"]) == {"prefix", "asr", "st", "s2st"}


# ---------------------------------------------------------------- hugging_face token lists
@pytest.fixture(scope="module")
def hf_tokenizer(tmp_path_factory):
    """A tiny word-level tokenizer saved like a pretrained one."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "hello": 3, "world": 4, "the": 5, "cat": 6}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    d = tmp_path_factory.mktemp("hf_tokenizer")
    fast.save_pretrained(d)
    return d


def hf_token_list(hf_tokenizer, out):
    from espnet_csst.bin import make_token_list

    assert make_token_list.main(["--token_type", "hugging_face", "--tokenizer", str(hf_tokenizer),
                                 "--out", str(out)]) == 0
    return out / "tokens.txt"


def test_hugging_face_token_list_matches_tokenizer(hf_tokenizer, tmp_path):
    tokens = hf_token_list(hf_tokenizer, tmp_path)
    assert tokens.read_text().splitlines() == ["<unk>", "<s>", "</s>", "hello", "world", "the", "cat"]
    codec = TextCodec("hugging_face", tokens, str(hf_tokenizer))
    assert (codec.bos_id, codec.eos_id, codec.pad_id) == (1, 2, 2)  # no pad token: EOS pads
    assert codec.encode("hello world") == [3, 4]
    assert codec.decode([1, 3, 4, 2]) == "hello world"


def test_hugging_face_token_list_mismatch(hf_tokenizer, tmp_path):
    tokens = hf_token_list(hf_tokenizer, tmp_path).read_text().splitlines()
    tokens[3], tokens[4] = tokens[4], tokens[3]
    with pytest.raises(ValueError, match="entry 3 .'world'. does not match tokenizer"):
        TextCodec("hugging_face", tokens, str(hf_tokenizer))
    with pytest.raises(ValueError, match="bpemodel"):
        TextCodec("hugging_face", tokens, None)


def test_hugging_face_token_list_through_the_task(hf_tokenizer, tmp_path):
    tokens = hf_token_list(hf_tokenizer, tmp_path)
    args = CSSTTask.get_parser().parse_args(
        ["--config", str(write_config(tmp_path / "c.yaml")), "--token_type", "hugging_face",
         "--token_list", str(tokens), "--bpemodel", str(hf_tokenizer)])
    model = CSSTTask.build_model(args)
    assert model.llm.vocab_size() == 7 and model.llm.eos_id == 2
    bad = tokens.read_text().splitlines()[::-1]
    (tmp_path / "bad.txt").write_text("\n".join(bad) + "\n")
    args.token_list = str(tmp_path / "bad.txt")
    with pytest.raises(ValueError, match="does not match tokenizer"):
        CSSTTask.build_model(args)


def test_llm_learning_rate_scale(tiny_bpe, tmp_path):
    from espnet2.schedulers.warmup_lr import WarmupLR

    args = parse(tiny_bpe, write_config(tmp_path / "c.yaml", llm_lr_scale=0.1))
    model = CSSTTask.build_model(args)
    (optim,) = CSSTTask.build_optimizers(args, model)
    speech_group, llm_group = optim.param_groups
    assert speech_group["lr"] == pytest.approx(0.003) and llm_group["lr"] == pytest.approx(0.0003)
    llm_params = {id(p) for p in model.llm.parameters()}
    assert {id(p) for p in llm_group["params"]} == llm_params
    assert not llm_params & {id(p) for p in speech_group["params"]}
    assert len(speech_group["params"]) + len(llm_group["params"]) == len(list(model.parameters()))
    # ESPnet's scheduler keeps the ratio
    sched = WarmupLR(optim, warmup_steps=10)
    for _ in range(3):
        optim.step()
        sched.step()
    assert llm_group["lr"] == pytest.approx(0.1 * speech_group["lr"])
    # the default is ESPnet's own single group
    args = parse(tiny_bpe, write_config(tmp_path / "d.yaml"))
    assert len(CSSTTask.build_optimizers(args, CSSTTask.build_model(args))[0].param_groups) == 1


def test_frontend_learning_rate_scale_applies_to_its_trained_blocks(tiny_bpe, tmp_path):
    from test.frontends.test_whisper import CONFIG

    conf = write_config(tmp_path / "c.yaml", llm_lr_scale=0.1, frontend_lr_scale=0.05, frontend="whisper_hf",
                        frontend_conf={"config": CONFIG, "finetune_top": 1}, normalize=None)
    args = parse(tiny_bpe, conf)
    model = CSSTTask.build_model(args)
    (optim,) = CSSTTask.build_optimizers(args, model)
    rest, llm_group, frontend_group = optim.param_groups
    assert rest["lr"] == pytest.approx(0.003) and llm_group["lr"] == pytest.approx(0.0003)
    assert frontend_group["lr"] == pytest.approx(0.00015)
    trained_frontend = {id(p) for p in model.frontend.parameters() if p.requires_grad}
    assert trained_frontend and {id(p) for p in frontend_group["params"]} == trained_frontend
    n = sum(len(g["params"]) for g in optim.param_groups)
    assert n == len([p for p in model.parameters() if p.requires_grad])


def test_llm_learning_rate_scale_must_be_positive(tiny_bpe, tmp_path):
    args = parse(tiny_bpe, write_config(tmp_path / "c.yaml", llm_lr_scale=0.0))
    with pytest.raises(ValueError, match="llm_lr_scale"):
        CSSTTask.build_optimizers(args, CSSTTask.build_model(args))


def test_source_token_list_sizes_the_ctc(tiny_bpe, tmp_path):
    args = parse(tiny_bpe, write_config(tmp_path / "c.yaml", model_conf={"ctc_weight": 0.3}),
                 "--src_token_list", str(tiny_bpe["token_list"]), "--src_bpemodel", str(tiny_bpe["bpemodel"]))
    model = CSSTTask.build_model(args)
    n = len(TextCodec("bpe", tiny_bpe["token_list"], str(tiny_bpe["bpemodel"])).token_list)
    assert model.ctc.ctc_lo.out_features == n + 1
    assert isinstance(args.src_token_list, list) and len(args.src_token_list) == n  # kept in config.yaml
