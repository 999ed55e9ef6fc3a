"""doc/tutorial.md, run as a new user would: every ``bash`` and ``python`` block in order, in one
shell, at micro size.

What changes for the test, and nothing else:
* ``./run.sh`` at the start of a line runs with micro options first (a micro corpus, tiny token
  lists, a few LLM steps; the user's own options come after them and win) and with micro copies
  of the configs (``conf_micro/``, made from ``conf/`` before every run);
* the two hub names of section 4 become tiny local models saved with ``save_pretrained``, and
  a tiny random Whisper stands in for the packaged Whisper base (``pretrained/whisper_base``).
The recipe the tutorial builds (egs2/my_cs/csst1) must equal egs2/mini_cs_zh/csst1 file for
file; the ``sh`` blocks (not run) may only use options that ``./run.sh --help`` lists.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from test.csst_utils import nonfinite_loss_epochs

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "doc" / "tutorial.md"
COMMITTED = REPO / "egs2" / "mini_cs_zh" / "csst1"
BLOCK = re.compile(r"^```(bash|python|sh)\n(.*?)^```$", re.S | re.M)
MODEL_LINES = {"llm": "llm=Qwen/Qwen2.5-0.5B", "whisper": "whisper=openai/whisper-small"}
# the micro corpus: a few utterances per split (the generator's options)
MICRO_CORPUS = ("--n_train_asr_en 12 --n_train_mono 20 --n_train_cs 10 --n_dev_mono 6 --n_dev_cs 8 "
                "--n_test_mono 6 --n_test_cs 10 --n_s2st_train 6 --n_s2st_dev 3 --n_s2st_test 3 --n_text 40")
MICRO_ARGS = [
    "--nj", "2", "--inference_nj", "2", "--vocab_size", "700", "--src_vocab_size", "0",
    "--local_data_opts", f"--seed 5 --pretrained none --corpus_opts '{MICRO_CORPUS}'",
    "--llm_pretrain_args", "--steps 3 --batch_size 8 --n_dev 4 --log_interval 1", "--peer_max_epoch", "1",
    "--stageA_args", "--max_epoch 1", "--stageC_args", "--max_epoch 1 --model_conf transition_lambda_min=1.0",
    "--train_config", "conf_micro/tuning/train_csst_whisper.yaml", "--inference_config", "conf_micro/decode_csst.yaml",
    "--peer_config", "conf_micro/peer_st.yaml", "--peer_inference_config", "conf_micro/peer_decode.yaml",
    "--peer_frames_config", "conf_micro/peer_st_whisper.yaml",
    "--peer_frames_inference_config", "conf_micro/peer_decode_whisper.yaml",
]


def blocks(kind: str):
    return [body for k, body in BLOCK.findall(TUTORIAL.read_text(encoding="utf-8")) if k == kind]


# ------------------------------------------------------------------ micro configs
def micro_config(name: str, conf: dict) -> dict:
    """The config at micro size; pretrained parts (named by model_name_or_path) are left alone:
    the test points them at tiny local models instead."""
    from test.csst_utils import merge_micro
    from test.egs2.test_mini_cs_recipe_smoke import MICRO_CSST, MICRO_CSST_WHISPER, MICRO_PEER, MICRO_PEER_FRAMES

    if name.startswith("peer_decode"):  # ESPnet's st_inference: as it is
        return conf
    if name.startswith("decode"):  # csst_inference
        return {**conf, "batch_size": 4, "beam_size": 1, "maxlen": 10}
    if name.startswith("peer"):  # ESPnet's ST model: from scratch, or on the cached Whisper frames
        micro = dict(MICRO_PEER_FRAMES if conf.get("frontend") is None else MICRO_PEER)
    elif conf.get("frontend") == "whisper_hf":  # the recipe's model: frames of the tiny Whisper below
        micro = dict(MICRO_CSST_WHISPER)
    else:
        micro = {k: v for k, v in MICRO_CSST.items()
                 if not (k == "encoder_conf" and conf["encoder"] != "conformer")
                 and not (k == "frontend_conf" and conf.get("frontend", "default") != "default")
                 and not (k == "llm_conf" and "model_name_or_path" in conf.get("llm_conf", {}))}
    return merge_micro(conf, micro)


def shrink_confs(src: Path, dst: Path) -> None:
    for path in src.rglob("*.yaml"):
        out = dst / path.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        conf = yaml.safe_load(path.read_text(encoding="utf-8"))
        out.write_text(yaml.safe_dump(micro_config(path.name, conf), sort_keys=False), encoding="utf-8")


# ------------------------------------------------------------------ tiny stand-ins for the hub models
def byte_level_tokenizer():
    """A tokenizer that covers any text (Chinese included): the 256 byte symbols, no merges."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<|endoftext|>": 0, "<unk>": 1}
    for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[symbol] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>")


def save_tiny_models(llm_dir: Path, whisper_dir: Path) -> None:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM, WhisperConfig, WhisperModel

    tok = byte_level_tokenizer()
    torch.manual_seed(0)
    Qwen2ForCausalLM(Qwen2Config(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=512, tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)).save_pretrained(llm_dir)
    tok.save_pretrained(llm_dir)
    WhisperModel(WhisperConfig(
        d_model=32, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=64, decoder_layers=1,
        decoder_attention_heads=2, decoder_ffn_dim=64, num_mel_bins=80, max_source_positions=1500,
        vocab_size=100, eos_token_id=2, bos_token_id=1, pad_token_id=0,
        decoder_start_token_id=1)).save_pretrained(whisper_dir)


# ------------------------------------------------------------------ the script the test runs
PREAMBLE = r'''set -euo pipefail
micro_run() {  # ./run.sh at micro size: micro options first (the user's win), micro configs
    python "${TUTORIAL_TEST}" shrink conf conf_micro
    local args=() prev="" a
    for a in "$@"; do
        case "${prev}" in
            --train_config|--inference_config|--peer_config|--peer_inference_config|--peer_frames_config|--peer_frames_inference_config)
                args+=("conf_micro/${a#conf/}") ;;
            *) args+=("${a}") ;;
        esac
        prev="${a}"
    done
    # what local/data.sh stage 3 links at full size (the micro corpus runs with --pretrained none)
    [ -e pretrained/whisper_base ] || python "${TUTORIAL_TEST}" tiny_whisper pretrained/whisper_base
    ./run.sh "${MICRO_ARGS[@]}" "${args[@]}"
}
'''


def tutorial_script(llm_dir: Path, whisper_dir: Path) -> str:
    parts = [PREAMBLE, "MICRO_ARGS=(" + " ".join(_quote(a) for a in MICRO_ARGS) + ")\n"]
    for kind, body in BLOCK.findall(TUTORIAL.read_text(encoding="utf-8")):
        if kind == "bash":
            body = re.sub(r"^\./run\.sh\b", "micro_run", body, flags=re.M)
            body = body.replace(MODEL_LINES["llm"], f"llm={_quote(str(llm_dir))}")
            body = body.replace(MODEL_LINES["whisper"], f"whisper={_quote(str(whisper_dir))}")
            parts.append(body)
        elif kind == "python":
            parts.append(f"python - <<'PYEOF'\n{body}PYEOF\n")
    return "\n".join(parts)


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def recipe_files(root: Path) -> dict:
    """What a recipe is made of: file contents and link targets, outputs of runs left out."""
    skip = {"data", "dump", "exp", "exp_pretrained", "downloads", "conf_micro", "pretrained"}
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in skip or rel.name.startswith("RESULTS") or rel.name.startswith("."):
            continue
        if path.is_symlink():
            out[str(rel)] = "-> " + os.readlink(path)
        elif path.is_file():
            out[str(rel)] = path.read_text(encoding="utf-8")
    return out


# ------------------------------------------------------------------ the test
@pytest.fixture(scope="module")
def tutorial_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tutorial") / "espnet csst"  # a path with a space
    (root / "egs2").mkdir(parents=True)
    for name in ("TEMPLATE", "mini_cs"):  # what the tutorial reads from the checkout
        (root / "egs2" / name).symlink_to(REPO / "egs2" / name)
    models = tmp_path_factory.mktemp("models")
    save_tiny_models(models / "llm", models / "whisper")
    script = tutorial_script(models / "llm", models / "whisper")
    env = dict(os.environ, TUTORIAL_TEST=str(Path(__file__).resolve()), HF_HUB_OFFLINE="1")
    env.pop("MINI_CS", None)
    proc = subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=1500)
    return root / "egs2" / "my_cs" / "csst1", proc, models


def test_tutorial_marks_what_it_runs():
    script = tutorial_script(Path("/m/llm"), Path("/m/whisper"))
    for name, line in MODEL_LINES.items():  # the substitution is not a silent no-op
        assert line in "".join(blocks("bash")) and f"{name}='/m/{name}'" in script
    assert len(re.findall(r"^micro_run\b", script, re.M)) >= 3
    assert blocks("python") and blocks("sh")


@pytest.mark.slow
def test_tutorial_commands_run_and_train_and_decode_zh_en(tutorial_run):
    recipe, proc, models = tutorial_run
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    # the data stage made the zh-en sets; the hand-made directory was fixed, then valid
    assert (recipe / "data" / "train_mono_zh" / "text.zh").is_file() and (recipe / "data" / "test_mono_zh").is_dir()
    assert "spk2utt is missing" in proc.stdout and "data/hand_made: OK (1 utterances" in proc.stdout
    # stages 2-15 trained the MoE model with zh and en expert groups, scored it, packed it
    conf_c = yaml.safe_load((recipe / "exp" / "csst_stageC" / "config.yaml").read_text(encoding="utf-8"))
    assert conf_c["projector"] == "moe" and conf_c["projector_conf"]["languages"] == ["zh", "en"]
    rows = json.loads((recipe / "RESULTS.json").read_text(encoding="utf-8"))["rows"]
    got = {(r["system"], r["test_set"], r["metric"]) for r in rows}
    for t in ("test_cs", "test_mono_zh"):
        assert ("csst_stageC", t, "BLEU") in got and ("peer_espnet_st", t, "BLEU") in got
        assert ("csst_stageA_asr", t, "WER") in got
    md = (recipe / "RESULTS.md").read_text(encoding="utf-8")
    assert "## Plots" in md and "routing_test_mono_zh.png" in md and "(not found)" not in md
    hyp = (recipe / "exp" / "csst_stageC" / "decode_st_test_cs" / "1best_recog" / "text").read_text(encoding="utf-8")
    assert len(hyp.splitlines()) == len((recipe / "data" / "test_cs" / "wav.scp").read_text().splitlines())
    # the Python block decoded the first test_cs recording from the packed model
    first = (recipe / "data" / "test_cs" / "wav.scp").read_text().split()[0]
    assert re.search(rf"^{re.escape(first)} 16000 ", proc.stdout, re.M), proc.stdout[-3000:]
    # section 4: Whisper encoder + MoE projector + LoRA LLM, the LLM's tokenizer, scored on its own
    pre = yaml.safe_load((recipe / "exp_pretrained" / "csst_stageC" / "config.yaml").read_text(encoding="utf-8"))
    assert pre["encoder"] == "whisper_hf" and pre["encoder_conf"]["model_name_or_path"] == str(models / "whisper")
    assert pre["llm_conf"]["model_name_or_path"] == str(models / "llm") and pre["llm_conf"]["lora"]["r"] == 16
    assert pre["token_type"] == "hugging_face" and pre["projector"] == "moe"
    assert not (recipe / "exp_pretrained" / "llm_pretrain").exists()  # stage 5 skipped
    scored = json.loads((recipe / "exp_pretrained" / "RESULTS.json").read_text(encoding="utf-8"))["rows"]
    assert {(r["system"], r["metric"]) for r in scored} >= {("whisper_lora", "BLEU"), ("whisper_lora", "chrF")}
    # no stage had a non-finite loss (issue 19 item 4: bf16 conv2d on AMX, BatchNorm after a skipped batch)
    for exp in ("exp", "exp_pretrained"):
        shares = nonfinite_loss_epochs(recipe / exp, "csst_stage*")
        assert len(shares) == 3 and all(v == 0 for vs in shares.values() for v in vs), (exp, shares)


@pytest.mark.slow
def test_tutorial_builds_the_committed_zh_recipe(tutorial_run):
    recipe, proc, _ = tutorial_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    built, committed = recipe_files(recipe), recipe_files(COMMITTED)
    assert sorted(built) == sorted(committed)
    for name in committed:
        assert built[name] == committed[name], f"{name} differs from egs2/mini_cs_zh/csst1/{name}"


@pytest.mark.slow
def test_shown_commands_use_only_real_options(tutorial_run):
    recipe, proc, _ = tutorial_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    help_text = subprocess.run(["./run.sh", "--help"], cwd=recipe, capture_output=True, text=True).stdout
    listed = set(re.findall(r"^  (--\w+) ", help_text, re.M))
    used = {opt for body in blocks("sh") for line in body.splitlines() if line.startswith("./run.sh")
            for opt in re.findall(r"(?<![\w\"-])(--\w+)", line.split("#")[0])}
    assert used and used <= listed, used - listed


@pytest.mark.slow
def test_the_stage_script_names_a_language_without_expert_group(tutorial_run):
    recipe, proc, _ = tutorial_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the embedded recipe's config has es and en groups: training zh speech with it is refused
    bad = subprocess.run(["./run.sh", "--stage", "7", "--stop_stage", "7", "--train_config",
                          str(REPO / "egs2" / "mini_cs" / "csst1" / "conf" / "train_csst.yaml"),
                          "--peer_frames_config", ""],
                         cwd=recipe, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "projector_conf.languages is ['es', 'en'], but --languages has ['zh']" in bad.stdout + bad.stderr


if __name__ == "__main__" and sys.argv[1:2] == ["shrink"]:  # micro_run's config step
    shrink_confs(Path(sys.argv[2]), Path(sys.argv[3]))
if __name__ == "__main__" and sys.argv[1:2] == ["tiny_whisper"]:  # micro_run's stand-in for Whisper base
    from test.egs2.test_mini_cs_recipe_smoke import write_tiny_whisper

    write_tiny_whisper(Path(sys.argv[2]))
