"""csst_train under ESPnet's trainer: 2-process data parallelism (gloo), and a non-finite loss.

``torch.distributed.run`` starts two ranks of csst_train with
``--multiprocessing_distributed false --dist_backend gloo --ngpu 0``, the
external-launcher mode of ESPnet's trainer (the one Slurm/MPI launches use
too). The model has the MoE projector, whose experts may get no tokens in a
step; its experts are slices of stacked parameters (``w1[e]``), so an idle
expert gets a zero gradient instead of none and DDP needs no
``--unused_parameters`` (test/projectors/test_moe.py checks the zero gradient).
After training, both ranks must hold identical weights, changed from the
initial ones.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from espnet_csst.bin import copy_data_dir, make_task_dir, make_token_list
from test.bin.test_csst_pipeline import run, task_data_args
from test.csst_utils import LLM_CONFIG, subprocess_env, write_config

pytestmark = pytest.mark.slow  # runs the recipe's command lines on a micro corpus (test/README.md)

WORKER = Path(__file__).resolve().parent / "ddp_worker.py"
MOE = {"languages": ["es", "en"], "num_experts": 4, "top_k": 1, "downsample": 2, "hidden_size": 32}


@pytest.fixture(scope="module")
def setup(mini_corpus, tmp_path_factory):
    work = tmp_path_factory.mktemp("ddp")
    raw = work / "dump" / "raw"
    for s in ("train_mono_es", "dev_mono"):
        assert copy_data_dir.main(["--audio_root", str(mini_corpus), str(mini_corpus / "data" / s), str(raw / s)]) == 0
    mk = ["--languages", "es", "en", "cs", "--task", "st", "--tgt_lang", "en"]
    assert make_task_dir.main([*mk, "--out", str(raw / "train"), str(raw / "train_mono_es")]) == 0
    assert make_task_dir.main([*mk, "--out", str(raw / "valid"), str(raw / "dev_mono")]) == 0
    tokens = work / "token_list"
    assert make_token_list.main([
        "--token_type", "bpe", "--out", str(tokens), "--vocab_size", "150", "--languages", "es", "en", "cs",
        "--kaldi_text", str(raw / "train" / "text"), "--text", str(mini_corpus / "text" / "parallel.es"),
        str(mini_corpus / "text" / "parallel.en")]) == 0
    write_config(work / "conf.yaml", projector="moe", projector_conf=MOE, max_epoch=2, batch_size=8,
                 llm_conf={"arch": "llama", "config": dict(LLM_CONFIG, max_position_embeddings=256)},
                 model_conf=dict(lang_loss_weight=0.0, balance_loss_weight=0.0))
    token_args = ["--token_type", "bpe", "--token_list", str(tokens / "tokens.txt"),
                  "--bpemodel", str(tokens / "bpe.model")]
    data = [*task_data_args("train", raw / "train"), *task_data_args("valid", raw / "valid")]
    run("espnet_csst.bin.csst_train", "--collect_stats", "true", "--config", "conf.yaml", *token_args,
        "--num_workers", "0", *data, "--train_shape_file", f"{raw}/train/wav.scp",
        "--valid_shape_file", f"{raw}/valid/wav.scp", "--output_dir", "stats", cwd=work)
    train_args = ["--config", "conf.yaml", "--ngpu", "0", *token_args, *data,
                  "--train_shape_file", "stats/train/speech_shape", "--valid_shape_file", "stats/valid/speech_shape"]
    return work, train_args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_end_with_identical_weights(setup):
    work, train_args = setup
    out = work / "ranks"
    out.mkdir()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           str(WORKER), str(out), "--", *train_args, "--output_dir", "exp_ddp",
           "--multiprocessing_distributed", "false", "--dist_backend", "gloo"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), cwd=work, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    init = torch.load(out / "init_rank0.pth", weights_only=True)
    ranks = [torch.load(out / f"rank{k}.pth", weights_only=True) for k in (0, 1)]
    assert set(ranks[0]) == set(ranks[1])
    for name in ranks[0]:
        assert torch.equal(ranks[0][name], ranks[1][name]), name
    changed = [n for n in init if not torch.equal(init[n], ranks[0][n])]
    assert any(n.startswith("projector.") for n in changed) and any(n.startswith("llm.") for n in changed)
    log = r.stdout + r.stderr
    assert re.search(r"\[\S+:0/2\]", log)  # ESPnet's host:rank/world_size prefix (rank 1 logs warnings only)
    assert "The training was finished at 2 epochs" in log
    assert (work / "exp_ddp" / "checkpoint.pth").is_file()  # rank 0 saved as usual


NONFINITE_WORKER = Path(__file__).resolve().parent / "nonfinite_worker.py"


def test_a_nonfinite_loss_skips_its_update_and_training_goes_on(setup):
    """Issue 8: one NaN loss (injected into the LLM's logits) is logged and counted, its update
    skipped by ESPnet's trainer, and training finishes with finite weights."""
    work, train_args = setup
    out = work / "nonfinite"
    out.mkdir()
    cmd = [sys.executable, str(NONFINITE_WORKER), str(out), "--", *train_args, "--output_dir", "exp_nan"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), cwd=work, timeout=300)
    assert r.returncode == 0, r.stderr[-5000:]
    result = json.loads((out / "nonfinite.json").read_text())
    assert result["calls"] > 3 and result["skipped"] is True
    log = r.stderr + r.stdout
    assert "non-finite loss (nan) in this batch, 1 so far" in log
    assert "Skipping updating the model" in log  # ESPnet's trainer
    first_epoch = next(line for line in log.splitlines() if "1epoch results" in line)
    share = float(re.search(r"nonfinite_loss=([0-9.e+-]+)", first_epoch).group(1))
    assert 0 < share < 1  # one batch of the epoch
    assert "The training was finished at 2 epochs" in log
    final = torch.load(work / "exp_nan" / "latest.pth", weights_only=True)
    assert all(torch.isfinite(v).all() for v in final.values() if v.is_floating_point())


KILL_WORKER = Path(__file__).resolve().parent / "kill_worker.py"


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(setup):
    """Issue 8: SIGKILL in the middle of epoch 2, then the same command with --resume true: it
    continues from the epoch-1 checkpoint (step counters included) and ends where a run that
    was never interrupted ends."""
    work, train_args = setup
    straight = subprocess.run([sys.executable, "-m", "espnet_csst.bin.csst_train", *train_args,
                               "--output_dir", "exp_straight"], capture_output=True, text=True,
                              env=subprocess_env(), cwd=work, timeout=300)
    assert straight.returncode == 0, straight.stderr[-3000:]

    killed = subprocess.run([sys.executable, str(KILL_WORKER), str(work / "exp_killed"), "--", *train_args,
                             "--output_dir", "exp_killed", "--resume", "true"], capture_output=True, text=True,
                            env=subprocess_env(), cwd=work, timeout=300)
    assert killed.returncode == -9  # SIGKILL
    assert (work / "exp_killed" / "checkpoint.pth").is_file() and not (work / "exp_killed" / "2epoch.pth").exists()
    assert not list((work / "exp_killed").glob(".*.tmp"))  # no half-written checkpoint left

    resumed = subprocess.run([sys.executable, "-m", "espnet_csst.bin.csst_train", *train_args,
                              "--output_dir", "exp_killed", "--resume", "true"], capture_output=True, text=True,
                             env=subprocess_env(), cwd=work, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "2/2epoch started" in resumed.stderr + resumed.stdout
    assert "1/2epoch started" not in resumed.stderr + resumed.stdout  # epoch 1 was not redone
    a = torch.load(work / "exp_straight" / "2epoch.pth", weights_only=True)
    b = torch.load(work / "exp_killed" / "2epoch.pth", weights_only=True)
    assert set(a) == set(b)
    assert torch.equal(a["transition_step"], b["transition_step"]) and int(a["transition_step"]) > 0
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6, msg=name)
