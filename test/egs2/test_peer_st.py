"""The peer baseline (ESPnet's stock ST model, scripts/peer_st.sh) end to end on the tiny
corpus: statistics, a few training iterations of a micro model, and split decoding,
run from a directory whose path contains a space."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from espnet_csst.data.datadir import read_map

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "egs2" / "TEMPLATE" / "csst1"
SCRIPT = TEMPLATE / "scripts" / "peer_st.sh"
RECIPE_CONF = REPO / "egs2" / "mini_cs" / "csst1" / "conf"

# The recipe's config, shrunk to a micro model that trains a few iterations in seconds.
MICRO = {
    "frontend_conf": {"fs": "16k", "n_fft": 512, "win_length": 400, "hop_length": 160,
                      "n_mels": 23},
    "encoder_conf": {"output_size": 16, "attention_heads": 2, "linear_units": 32,
                     "num_blocks": 1, "cnn_module_kernel": 7},
    "decoder_conf": {"attention_heads": 2, "linear_units": 32, "num_blocks": 1},
    "extra_asr_decoder_conf": {"input_layer": "embed", "attention_heads": 2,
                               "linear_units": 32, "num_blocks": 1},
    "specaug_conf": {"apply_time_warp": False, "apply_freq_mask": True,
                     "freq_mask_width_range": [0, 4], "num_freq_mask": 1,
                     "apply_time_mask": False},
    "batch_type": "folded",
    "batch_size": 8,
    "max_epoch": 1,
    "num_workers": 0,
    "keep_nbest_models": 1,
}


def kaldi_dir(out: Path, corpus: Path, splits, src_name=None) -> None:
    """A peer-ST data dir from corpus splits: absolute wav.scp, text = English
    translation, src_text = the source transcript (the English text for ASR splits)."""
    out.mkdir(parents=True)
    files = {name: {} for name in ("wav.scp", "utt2spk", "text", "src_text")}
    for split in splits:
        d = corpus / "data" / split
        src = next((d / f for f in ("text.es", "text.cs") if (d / f).exists()), d / "text.en")
        for key, rel in read_map(d / "wav.scp").items():
            files["wav.scp"][key] = str((corpus / rel).resolve())
        files["utt2spk"].update(read_map(d / "utt2spk"))
        files["text"].update(read_map(d / "text.en"))
        files["src_text"].update(read_map(src))
    for name, entries in files.items():
        with open(out / name, "w", encoding="utf-8") as f:
            for key in sorted(entries, key=lambda k: k.encode()):
                f.write(f"{key} {entries[key]}\n")


def bpe_and_tokens(train: Path, out: Path):
    """A tiny sentencepiece model on the source and target texts, and its ESPnet token
    list (<blank>, <unk>, pieces, <sos/eos>)."""
    import sentencepiece as spm

    out.mkdir(parents=True)
    lines = list(read_map(train / "text").values()) + list(read_map(train / "src_text").values())
    (out / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(out / "train.txt"), model_prefix=str(out / "bpe"), vocab_size=60,
        model_type="unigram", character_coverage=1.0, hard_vocab_limit=False,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=str(out / "bpe.model"))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    tokens = ["<blank>", "<unk>"] + [p for p in pieces if p not in ("<unk>", "<s>", "</s>")]
    (out / "tokens.txt").write_text("\n".join(tokens + ["<sos/eos>"]) + "\n", encoding="utf-8")
    return out / "bpe.model", out / "tokens.txt"


def micro_config(path: Path) -> Path:
    conf = yaml.safe_load((RECIPE_CONF / "peer_st.yaml").read_text(encoding="utf-8"))
    conf.pop("batch_bins", None)
    for key, value in MICRO.items():
        if isinstance(value, dict):
            conf[key] = {**conf.get(key, {}), **value}
        else:
            conf[key] = value
    path.write_text(yaml.safe_dump(conf, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_peer_st_trains_and_decodes_from_a_path_with_a_space(tmp_path, mini_corpus):
    work = tmp_path / "peer recipe"
    data = work / "data"
    kaldi_dir(data / "train", mini_corpus, ["train_mono_es", "train_cs", "train_asr_en"])
    kaldi_dir(data / "valid", mini_corpus, ["dev_mono", "dev_cs"])
    kaldi_dir(data / "test_cs", mini_corpus, ["test_cs"])
    bpemodel, tokens = bpe_and_tokens(data / "train", work / "bpe")
    (work / "conf").mkdir()
    config = micro_config(work / "conf" / "peer micro.yaml")
    exp = work / "exp" / "peer st"

    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["OMP_NUM_THREADS"] = "1"   # micro model: one thread per process beats contended cores
    cmd = [
        "bash", str(SCRIPT),
        "--train_dir", str(data / "train"),   # absolute paths with a space ...
        "--valid_dir", str(data / "valid"),
        "--test_sets", "data/test_cs",        # ... and a relative one
        "--token_list", str(tokens), "--bpemodel", str(bpemodel),
        "--exp_dir", str(exp),
        "--config", str(config),
        "--inference_config", str(RECIPE_CONF / "peer_decode.yaml"),
        "--nj", "2", "--inference_nj", "2",
        "--max_epoch", "1",
        "--train_args", "--num_iters_per_epoch 2",
        "--inference_args", "--maxlenratio 0.3",
        "--python", sys.executable,
    ]
    r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=170)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for stage in ("Stage 1", "Stage 2", "Stage 3"):
        assert stage in r.stdout

    assert (exp / "stats" / "train" / "feats_stats.npz").is_file()
    assert (exp / "valid.acc.ave.pth").exists() and (exp / "config.yaml").is_file()
    trained = yaml.safe_load((exp / "config.yaml").read_text(encoding="utf-8"))
    assert trained["max_epoch"] == 1 and trained["num_iters_per_epoch"] == 2

    test_keys = list(read_map(data / "test_cs" / "wav.scp"))
    best = exp / "decode_test_cs" / "1best_recog"
    for name in ("text", "token", "score"):
        lines = (best / name).read_text(encoding="utf-8").splitlines()
        assert [ln.split(" ", 1)[0] for ln in lines] == test_keys, name
    # both decoding jobs ran and wrote their share
    logdir = exp / "decode_test_cs" / "logdir"
    assert (logdir / "st_inference.1.log").is_file() and (logdir / "st_inference.2.log").is_file()


def test_help_and_unknown_option():
    r = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for opt in ("--stage", "--train_dir", "--test_sets", "--inference_nj", "--ngpu", "--gpu_inference"):
        assert opt in r.stdout
    r = subprocess.run(["bash", str(SCRIPT), "--bogus", "1"], capture_output=True, text=True)
    assert r.returncode == 1
    assert "unknown option '--bogus'" in r.stderr and "--exp_dir" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--stage", "3", "--exp_dir", "nowhere", "--test_sets", "x", "--inference_config", "y"],
     "not found"),
    (["--nj", "two"], "--nj must be a non-negative integer"),
    (["--gpu_inference", "1"], "--gpu_inference must be true or false"),
])
def test_bad_arguments_fail_with_one_line(tmp_path, args, message):
    r = subprocess.run(["bash", str(SCRIPT), *args], cwd=tmp_path, capture_output=True,
                       text=True)
    assert r.returncode == 1 and message in r.stderr
