"""Smoke run of the whole mini_cs recipe (stages 1-15) on a micro corpus with micro models.

Runs the real run.sh/csst.sh from a copy of the recipe whose path contains a
space, then reruns single stages from the existing outputs.
"""

import json
import os
import re
import socket
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from test.conftest import TINY_SIZES
from test.csst_utils import nonfinite_loss_epochs, shrink_config

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "egs2" / "TEMPLATE" / "csst1"
RECIPE = REPO / "egs2" / "mini_cs" / "csst1"

MICRO_CSST = {
    "frontend_conf": {"fs": "16k", "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 20},
    "encoder_conf": {"output_size": 16, "attention_heads": 2, "linear_units": 32, "num_blocks": 1,
                     "input_layer": "conv2d8", "cnn_module_kernel": 7},
    "projector_conf": {"downsample": 2, "hidden_size": 32},
    "llm_conf": {"arch": "llama", "config": {
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
        "num_key_value_heads": 2, "max_position_embeddings": 160, "tie_word_embeddings": True}},
    "batch_size": 8,
    "num_workers": 0,
}
#: run.sh's model (conf/tuning/train_csst_whisper.yaml) at micro size: its Whisper is the tiny random
#: one the fixture writes as pretrained/whisper_base (TINY_WHISPER), its adapter one block at the
#: frames' rate (the CTC segments need it: projector downsample 1)
MICRO_CSST_WHISPER = {
    "encoder_conf": {"output_size": 16, "attention_heads": 2, "linear_units": 32, "num_blocks": 1,
                     "input_layer": "linear", "cnn_module_kernel": 7},
    "projector_conf": {"hidden_size": 32},
    "llm_conf": MICRO_CSST["llm_conf"],
    "batch_size": 8,
    "num_workers": 0,
}
#: a Whisper of 32 dims and 2 blocks, random: what local/data.sh stage 3 links at full size
TINY_WHISPER = dict(d_model=32, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64, decoder_layers=1,
                    decoder_attention_heads=2, decoder_ffn_dim=64, num_mel_bins=80, max_source_positions=1500,
                    vocab_size=100, eos_token_id=2, bos_token_id=1, pad_token_id=0, decoder_start_token_id=1)
MICRO_PEER = {
    "frontend_conf": {"fs": "16k", "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 20},
    "encoder_conf": {"output_size": 16, "attention_heads": 2, "linear_units": 32, "num_blocks": 1,
                     "cnn_module_kernel": 7},
    "decoder_conf": {"attention_heads": 2, "linear_units": 32, "num_blocks": 1},
    "extra_asr_decoder_conf": {"input_layer": "embed", "attention_heads": 2, "linear_units": 32,
                               "num_blocks": 1},
    "batch_type": "folded",
    "batch_size": 8,
    "num_workers": 0,
}
#: ESPnet's ST on the cached frames (conf/peer_st_whisper.yaml): no frontend, TINY_WHISPER's width
MICRO_PEER_FRAMES = {**{k: v for k, v in MICRO_PEER.items() if k != "frontend_conf"},
                     "input_size": TINY_WHISPER["d_model"]}


#: one epoch per stage (run.sh trains A 6, B 1 and C 4): every epoch of a micro model costs ESPnet's
#: validation, checkpoint and ~30 plots, and no assertion here needs a second one
MICRO_EPOCHS = ("--stageA_args", "--max_epoch 1",
                "--stageC_args", "--max_epoch 1 --model_conf transition_lambda_min=1.0")


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    work = tmp_path_factory.mktemp("recipe") / "mini cs" / "csst1"
    (work / "conf").mkdir(parents=True)
    (work / "local").mkdir()
    for name in ("run.sh", "db.sh"):
        (work / name).write_bytes((RECIPE / name).read_bytes())
        (work / name).chmod(0o755)
    (work / "local" / "data.sh").write_bytes((RECIPE / "local" / "data.sh").read_bytes())
    (work / "local" / "data.sh").chmod(0o755)
    for name in ("path.sh", "scripts", "csst.sh"):
        (work / name).symlink_to(TEMPLATE / name)
    (work / "conf" / "tuning").mkdir()
    for name in ("train_csst_whisper.yaml", "train_csst_whisper_linear.yaml"):
        shrink_config(RECIPE / "conf" / "tuning" / name, work / "conf" / "tuning" / name, MICRO_CSST_WHISPER)
    write_tiny_whisper(work / "pretrained" / "whisper_base")
    for name in ("run_ablation.sh", "tune_transition.sh"):
        (work / "local" / name).write_bytes((RECIPE / "local" / name).read_bytes())
        (work / "local" / name).chmod(0o755)
    shrink_config(RECIPE / "conf" / "peer_st.yaml", work / "conf" / "peer_st.yaml", MICRO_PEER)
    shrink_config(RECIPE / "conf" / "peer_st_whisper.yaml", work / "conf" / "peer_st_whisper.yaml", MICRO_PEER_FRAMES)
    for name in ("peer_decode.yaml", "peer_decode_whisper.yaml"):
        (work / "conf" / name).write_bytes((RECIPE / "conf" / name).read_bytes())
    (work / "conf" / "decode_csst.yaml").write_text("batch_size: 4\nbeam_size: 1\nmaxlen: 10\n")
    return work


def write_tiny_whisper(out: Path) -> None:
    from transformers import WhisperConfig, WhisperModel

    torch.manual_seed(0)
    WhisperModel(WhisperConfig(**TINY_WHISPER)).save_pretrained(out)


def micro_options(stage_c: bool = True) -> list:
    """run.sh's options of the micro recipe; local/run_ablation.sh and tune_transition.sh pass them
    on, and set stage C's epochs themselves (stage_c=False)"""
    corpus_opts = " ".join(f"--{k} {v}" for k, v in TINY_SIZES.items())
    return ["--nj", "2", "--inference_nj", "2", "--vocab_size", "120",
            "--local_data_opts", f"--seed 5 --pretrained none --corpus_opts '{corpus_opts}'",
            "--llm_pretrain_args", "--steps 3 --batch_size 8 --n_dev 4 --log_interval 1",
            "--peer_max_epoch", "1", *(MICRO_EPOCHS if stage_c else MICRO_EPOCHS[:2])]


MICRO_ENV = dict(os.environ, MINI_CS="downloads/mini_cs")
#: one call of local/run_ablation.sh or tune_transition.sh trains several micro systems: 512 s for the
#: first call on an EPYC with AVX512-BF16, over 900 s on one with AVX2 only (2026-12-07)
ABLATION_TIMEOUT_S = 2400


def run(recipe: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["./run.sh", *micro_options(), *args]
    proc = subprocess.run(cmd, cwd=recipe, env=MICRO_ENV, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0 or not check, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


@pytest.mark.slow
def test_whole_recipe_runs_and_scores_both_systems(recipe):
    proc = run(recipe, "--peer_beside", "true")
    times = [ln.split("\t") for ln in (recipe / "exp" / "stage_times.tsv").read_text().splitlines()]
    assert [int(t[0]) for t in times] == list(range(1, 16))
    # --peer_beside: the peer (stages 12-13) trains in the background, starting before stage 5 ends
    start, end = {int(t[0]): float(t[3]) for t in times}, {int(t[0]): float(t[4]) for t in times}
    assert start[12] < end[5] and end[13] <= start[14]
    assert "Stage 13 (peer: ESPnet st_inference) done" in (recipe / "exp" / "peer_st.log").read_text()
    assert "Stage 10 (train stage C (code-switched ST)) done" in proc.stdout

    results = json.loads((recipe / "RESULTS.json").read_text())
    got = {(r["system"], r["test_set"], r["metric"]) for r in results["rows"]}
    for system in ("csst_stageC", "peer_espnet_st", "peer_espnet_st_whisper"):
        for test_set in ("test_cs", "test_mono_es"):
            assert (system, test_set, "BLEU") in got
            assert (system, test_set, "chrF") in got
    assert ("csst_stageA_asr", "test_cs", "WER") in got
    # the CTC head's own transcripts (the segments the LLM reads), of stage A and of stage C
    assert ("csst_stageA_ctc", "test_cs", "WER") in got and ("csst_stageC_ctc", "test_mono_es", "WER") in got
    # the stage-B model too: what code-switched training keeps of monolingual ST
    assert ("csst_stageB", "test_mono_es", "BLEU") in got
    # the default: MoE projector, transition loss (stage C replays stage B's data)
    assert "projector: moe" in (recipe / "exp" / "csst_stageC" / "config.yaml").read_text()
    assert "1" in (recipe / "dump" / "raw" / "stageC_train" / "replay").read_text().split()[1::2]
    # the stage-5 LLM translating the gold transcripts: the ceiling row
    assert ("llm_text_ceiling", "test_cs", "BLEU") in got and ("llm_text_ceiling", "test_mono_es", "BLEU") in got
    md = (recipe / "RESULTS.md").read_text()
    assert "csst_stageC" in md and "peer_espnet_st" in md and "Wall time per stage" in md
    assert re.search(r"CPU core\(s\) of .+ \(AMX: (yes|no), AVX512-BF16: (yes|no)\)", md)  # the times' machine
    # training visibility: TensorBoard logs, and RESULTS.md links to the plots under exp/<tag>/images/
    for tag in ("csst_stageA", "csst_stageB", "csst_stageC", "peer_st"):
        assert list((recipe / "exp" / tag / "tensorboard").rglob("events.out.tfevents.*")), tag
    images = recipe / "exp" / "csst_stageC" / "images"
    for name in ("loss.png", "acc.png", "stages.png", "routing_test_cs.png", "routing_test_mono_es.png"):
        assert (images / name).stat().st_size > 0, name
        assert f"(exp/csst_stageC/images/{name})" in md, name
    assert "## Plots" in md and "(not found)" not in md
    n_test = len((recipe / "data" / "test_cs" / "wav.scp").read_text().splitlines())
    hyp = recipe / "exp" / "csst_stageC" / "decode_st_test_cs" / "1best_recog" / "text"
    assert len(hyp.read_text().splitlines()) == n_test
    assert (recipe / "exp" / "csst_stageC" / "packed.zip").stat().st_size > 0
    # each stage starts from the previous one's model
    conf_b = yaml.safe_load((recipe / "exp" / "csst_stageB" / "config.yaml").read_text())
    assert any("csst_stageA" in p for p in conf_b["init_param"])
    # the CTC segments: the adapter's CTC predicts the LLM's own tokens (--src_vocab_size 0), and
    # both peers use that list for their source CTC
    tokens = (recipe / "data" / "token_list" / "bpe_unigram120" / "tokens.txt").read_text().splitlines()
    assert conf_b["model_conf"]["speech_tokens"] == "ctc_soft" and not conf_b.get("src_token_list")
    assert not list((recipe / "data" / "token_list").glob("src_*"))  # no token list of its own
    for peer_tag in ("peer_st", "peer_st_whisper"):
        peer = yaml.safe_load((recipe / "exp" / peer_tag / "config.yaml").read_text())
        assert peer["src_token_list"] == tokens, peer_tag
    # the CSST model and the frames peer read stage 6's cached Whisper frames
    assert conf_b["frontend"] == "whisper_hf"
    assert (recipe / "dump" / "raw" / "stageB_train" / "feats.scp").is_file()
    assert peer["input_size"] == TINY_WHISPER["d_model"]
    # the frames log is appended to, one header per run, so the run that computed them stays in it
    frames_log = (recipe / "dump" / "frames.log").read_text()
    assert frames_log.startswith("==== ") and "computed " in frames_log
    # no stage had a non-finite loss (issue 19 item 4: bf16 conv2d on AMX, BatchNorm after a skipped batch)
    shares = nonfinite_loss_epochs(recipe / "exp", "csst_stage*")
    assert len(shares) == 3 and all(v == 0 for vs in shares.values() for v in vs), shares


@pytest.mark.slow
def test_single_stage_reruns_from_existing_outputs(recipe):
    if not (recipe / "RESULTS.json").exists():
        pytest.skip("needs the full run of the previous test")
    before = json.loads((recipe / "RESULTS.json").read_text())["rows"]
    run(recipe, "--stage", "11", "--stop_stage", "11")
    run(recipe, "--stage", "14", "--stop_stage", "14")
    after = json.loads((recipe / "RESULTS.json").read_text())["rows"]
    key = lambda r: (r["system"], r["test_set"], r["metric"])  # noqa: E731
    assert sorted(map(key, before)) == sorted(map(key, after))
    # greedy decoding of the same model gives the same scores
    assert {key(r): r["value"] for r in before} == {key(r): r["value"] for r in after}


def experiment_sharing_stage_a(recipe: Path, name: str) -> Path:
    """A second experiment dir that shares the first run's pre-trained LLM, statistics and stage A."""
    exp = recipe / name
    exp.mkdir(exist_ok=True)
    for part in ("llm_pretrain", "stats_stageA", "stats_stageB", "stats_stageC", "csst_stageA"):
        if not (exp / part).exists():
            (exp / part).symlink_to(recipe / "exp" / part)
    return exp


@pytest.mark.slow
def test_ot_align_selects_layers_and_trains_stage_b_with_the_loss(recipe):
    if not (recipe / "exp" / "csst_stageA" / "valid.acc.best.pth").exists():
        pytest.skip("needs the full run of the first test")
    ot = experiment_sharing_stage_a(recipe, "exp_ot")
    proc = run(recipe, "--expdir", "exp_ot", "--stage", "8", "--stop_stage", "9", "--use_ot_align", "true",
               "--align_top_k", "1", "--ot_weight", "0.3")
    assert "| layer | R@1 |" in proc.stdout  # stage 8 prints its table
    fragment = yaml.safe_load((ot / "align_layers" / "ot_layers.yaml").read_text())
    (layer,) = fragment["model_conf"]["ot_layers"]
    assert (ot / "align_layers" / "layers.png").stat().st_size > 0
    conf = yaml.safe_load((ot / "csst_stageB" / "config.yaml").read_text())
    assert conf["model_conf"]["ot_weight"] == 0.3 and conf["model_conf"]["ot_layers"] == [layer]
    assert f"loss_ot_l{layer}=" in (ot / "csst_stageB" / "train.log").read_text()
    # without the selection, stage B refuses to guess the layers
    (ot / "align_layers" / "ot_layers.yaml").unlink()
    bad = run(recipe, "--expdir", "exp_ot", "--stage", "9", "--stop_stage", "9", "--use_ot_align", "true", check=False)
    assert bad.returncode != 0 and "run stage 8" in bad.stderr + bad.stdout


@pytest.mark.slow
def test_train_launcher_runs_a_stage_data_parallel(recipe):
    """--train_launcher: stage B under torch.distributed.run, 2 CPU processes with gloo (ESPnet's
    external-launcher mode), from the first run's stage A."""
    if not (recipe / "exp" / "csst_stageA" / "valid.acc.best.pth").exists():
        pytest.skip("needs the full run of the first test")
    ddp = experiment_sharing_stage_a(recipe, "exp_ddp")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    launcher = f"{sys.executable} -m torch.distributed.run --nproc_per_node 2 --master_addr 127.0.0.1 " \
               f"--master_port {port}"
    run(recipe, "--expdir", "exp_ddp", "--stage", "9", "--stop_stage", "9", "--train_launcher", launcher,
        "--train_args", "--dist_backend gloo")
    log = (ddp / "csst_stageB" / "train.log").read_text()
    assert re.search(r"\[\S+:0/2\]", log) and "The training was finished" in log  # rank 0 of 2
    assert (ddp / "csst_stageB" / "valid.acc.best.pth").is_file()


@pytest.mark.slow
def test_upload_stage_lays_out_the_model_with_a_card(recipe):
    if not (recipe / "exp" / "csst_stageC" / "packed.zip").exists():
        pytest.skip("needs the full run of the first test")
    proc = run(recipe, "--stage", "16", "--stop_stage", "16")  # no --hf_repo: nothing is uploaded
    out = recipe / "exp" / "csst_stageC" / "hf_upload"
    assert (out / "meta.yaml").is_file() and "csst_stageC" in (out / "README.md").read_text()
    assert "uploaded" not in proc.stdout


def test_unknown_option_lists_the_options(recipe):
    proc = subprocess.run(["./run.sh", "--no_such_option", "1"], cwd=recipe, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "unknown option '--no_such_option'" in proc.stderr and "--stage" in proc.stderr
    help_proc = subprocess.run(["./run.sh", "--help"], cwd=recipe, capture_output=True, text=True)
    assert help_proc.returncode == 0 and "--stop_stage" in help_proc.stdout and "train A" in help_proc.stdout
    assert "--options" not in help_proc.stdout and "--options" not in proc.stderr  # not an option


@pytest.mark.slow
def test_ablation_script_scores_its_systems_into_their_table(recipe):
    if not (recipe / "RESULTS.json").exists():
        pytest.skip("needs the full run of the first test")
    # system a: linear, code-switched data only; d: MoE + losses; e: d + transition loss (replay)
    micro = micro_options(stage_c=False)
    proc = subprocess.run(["local/run_ablation.sh", "--systems", "a d e ot_sel", *micro], cwd=recipe, capture_output=True,
                          text=True, timeout=ABLATION_TIMEOUT_S, env=MICRO_ENV)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    rows = json.loads((recipe / "RESULTS.json").read_text())["rows"]
    ablation = [r for r in rows if r.get("table", "").startswith("Ablation: MoE")]
    systems = {r["system"].split(":")[0] for r in ablation}
    assert systems == {"a", "d", "e", "e (stage B)", "peer"}
    metrics = {(r["system"].split(":")[0], r["test_set"], r["metric"]) for r in ablation}
    for t in ("test_cs", "test_mono_es", "dev_cs", "dev_mono"):  # test, and dev to choose on
        assert ("a", t, "BLEU") in metrics and ("e", t, "chrF") in metrics and ("e", t, "route_acc") in metrics
        assert ("a", t, "route_acc") not in metrics  # linear projector: nothing routed
    assert ("e", "test_cs", "route_acc_cs") in metrics and ("e", "test_mono_es", "route_acc_mono") in metrics
    md = (recipe / "RESULTS.md").read_text()
    assert "## Ablation" in md and "route_acc" in md
    # e is the recipe's default: the ablation scores ./run.sh's own models, and its stage-B model
    e = recipe / "exp" / "ablation" / "e"
    assert (e / "csst_stageC").resolve() == (recipe / "exp" / "csst_stageC").resolve()
    # d differs from e from stage B on: its stage A is e's, here ./run.sh's, and B and C its own
    d = recipe / "exp" / "ablation" / "d"
    assert "system d, seed 0: stage A is the one trained for e" in proc.stdout + proc.stderr
    assert (d / "csst_stageA").resolve() == (recipe / "exp" / "csst_stageA").resolve()
    assert (d / "csst_stageC").is_dir() and not (d / "csst_stageC").is_symlink()
    d_stages = [ln.split("\t")[0] for ln in (d / "stage_times.tsv").read_text().splitlines()]
    assert "7" not in d_stages and "10" in d_stages
    assert (e / "csst_stageC" / "routing_test_cs" / "routing.png").stat().st_size > 0
    assert (e / "csst_stageC" / "images" / "stages.png").stat().st_size > 0
    assert any(r["system"].startswith("e (stage B)") and r["test_set"] == "test_mono_es" for r in ablation)
    # the OT table: e without OT and with OT at the selected layers, on test and dev, with the layer metrics
    ot_rows = [r for r in rows if r.get("table", "").startswith("Ablation: inner-layer OT")]
    ot_metrics = {(r["system"].split(":")[0], r["test_set"], r["metric"]) for r in ot_rows}
    for s in ("ot_none", "ot_sel"):
        for t in ("test_cs", "test_mono_es", "dev_cs", "dev_mono"):
            assert (s, t, "BLEU") in ot_metrics and (s, t, "MRR_sel") in ot_metrics
            assert (s, t, "OT_sel_before") in ot_metrics and (s, t, "OT_sel_after") in ot_metrics
    sel = recipe / "exp" / "ablation" / "ot_sel"
    layers = yaml.safe_load((sel / "align_layers" / "ot_layers.yaml").read_text())["model_conf"]["ot_layers"]
    conf_c = yaml.safe_load((sel / "csst_stageC" / "config.yaml").read_text())
    assert conf_c["model_conf"]["ot_layers"] == layers and conf_c["model_conf"]["ot_weight"] > 0
    # the OT plots: ESPnet's curve per aligned layer, and stage 8's layer choice beside them
    images = sel / "csst_stageC" / "images"
    assert sorted(p.name for p in images.glob("loss_ot_l*.png")) == sorted(f"loss_ot_l{k}.png" for k in layers)
    assert (images / "align_layers.png").stat().st_size > 0 and (images / "stages.png").stat().st_size > 0
    assert "## Ablation: inner-layer OT alignment" in md
    # every dump dir reads the recipe's one cache of Whisper frames
    assert " dump/frames/" in (recipe / "dump_cs_only" / "raw" / "stageC_train" / "feats.scp").read_text()
    # a trained on code-switched data only, nothing replayed
    a_train = recipe / "dump_cs_only" / "raw" / "stageC_train"
    assert not (a_train / "replay").exists() or "1" not in (a_train / "replay").read_text().split()[1::2]
    assert all("-train_cs-" in ln.split()[0] for ln in (a_train / "wav.scp").read_text().splitlines())
    # the replayed utterances reached the model: the transition weight is in the training log
    assert "transition_weight=" in (e / "csst_stageC" / "train.log").read_text()
    # system a trained stage C only, on code-switched speech
    a = recipe / "exp" / "ablation" / "a"
    assert not (a / "csst_stageA").exists() and (a / "csst_stageC" / "valid.acc.best.pth").exists()
    assert set((recipe / "dump_cs_only" / "raw" / "stageC_train" / "utt2lang").read_text().split()[1::2]) == {"cs"}
    # scored as seed 0, with its baseline named (b, not run here: no test yet)
    a_rows = [r for r in ablation if r["system"].startswith("a:") and r["metric"] == "BLEU"]
    assert {r["seed"] for r in a_rows} == {0}
    assert json.loads((recipe / "RESULTS.json").read_text())["baselines"]["Ablation: MoE projector, its losses, "
                                                                          "transition loss (local/run_ablation.sh)"][
        a_rows[0]["system"]].startswith("b:")
    # every finished run is recorded (kept in git): what its rows are scored from, settings and machine
    record = recipe / "ablation_runs"
    for s in ("a", "d", "e", "ot_sel"):
        run_dir = record / s / "seed0"
        assert (run_dir / "hyp" / "dev_cs").stat().st_size > 0 and (run_dir / "train_seconds").is_file(), s
        assert "seed: 0" in (run_dir / "settings.txt").read_text() and "cpu: " in (run_dir / "machine.txt").read_text()
    assert (record / "e" / "seed0" / "hyp_stageB" / "test_mono_es").is_file()
    assert (record / "e" / "seed0" / "align_after.json").is_file() and (record / "ot_sel" / "seed0" / "align_before.json").is_file()
    assert (record / "refs" / "test_cs").read_text() == (recipe / "dump" / "raw" / "test_st_test_cs" / "text").read_text()
    assert all(r["hyp"].startswith("ablation_runs/") for r in ablation + ot_rows if r.get("hyp"))

    # a second seed: seed 0 is only rescored, seed 1 trains in its own exp dir; the table shows both
    proc = subprocess.run(["local/run_ablation.sh", "--systems", "a", "--seeds", "0 1", *micro], cwd=recipe,
                          capture_output=True, text=True, timeout=ABLATION_TIMEOUT_S, env=MICRO_ENV)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    log = proc.stdout + proc.stderr
    assert "ablation_runs/a/seed0 is recorded" in log and "seed 1: training (stages 7-10) and decoding" in log
    a1 = recipe / "exp" / "ablation" / "a.seed1"
    assert (a1 / "decoded").exists() and (a1 / "csst_stageC" / "valid.acc.best.pth").exists()
    assert yaml.safe_load((a1 / "csst_stageC" / "config.yaml").read_text())["seed"] == 1
    assert (a1 / "stats_stageC").resolve() == (a / "stats_stageC").resolve()  # statistics shared
    rows = json.loads((recipe / "RESULTS.json").read_text())["rows"]
    assert {r["seed"] for r in rows if r.get("system", "").startswith("a:") and r["metric"] == "BLEU"} == {0, 1}
    md = (recipe / "RESULTS.md").read_text()
    a_line = next(ln for ln in md.splitlines() if ln.startswith("| a: ") and "| test_cs |" in ln)
    assert "| 0 1 |" in a_line and " ± " in a_line

    # a fresh checkout (no exp/): the recorded runs are rescored, nothing is trained
    shutil.rmtree(recipe / "exp" / "ablation" / "a")
    shutil.rmtree(a1)
    proc = subprocess.run(["local/run_ablation.sh", "--systems", "a", "--seeds", "0 1", *micro], cwd=recipe,
                          capture_output=True, text=True, timeout=ABLATION_TIMEOUT_S, env=MICRO_ENV)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "rescoring only" in proc.stdout and "training" not in proc.stdout
    assert not (recipe / "exp" / "ablation" / "a").exists()
    assert json.loads((recipe / "RESULTS.json").read_text())["rows"] == rows
    # a recorded run with other settings than today's is an error, and the record is kept
    kept = (record / "a" / "seed1" / "settings.txt").read_text()
    proc = subprocess.run(["local/run_ablation.sh", "--systems", "a", "--seeds", "1", *micro, "--vocab_size", "121"],
                          cwd=recipe, capture_output=True, text=True, timeout=ABLATION_TIMEOUT_S, env=MICRO_ENV)
    assert proc.returncode != 0 and "ablation_runs/a/seed1 was trained with other settings" in proc.stderr
    assert "--vocab_size 121" in proc.stderr and (record / "a" / "seed1" / "settings.txt").read_text() == kept
    bad = subprocess.run(["local/run_ablation.sh", "--seeds", "x"], cwd=recipe, capture_output=True, text=True)
    assert bad.returncode != 0 and "'x' is not a non-negative integer" in bad.stderr


@pytest.mark.slow
def test_tune_transition_over_seeds_tests_each_variant_against_constant_weight(recipe):
    if not (recipe / "RESULTS.json").exists():
        pytest.skip("needs the full run of the first test")
    cmd = ["local/tune_transition.sh", "--variants", "v0 v1", "--seeds", "0 1", "--epochs_C", "1",
           *micro_options(stage_c=False)]
    env = MICRO_ENV
    proc = subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, timeout=ABLATION_TIMEOUT_S, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert re.search(r"best on dev: v[01]", proc.stdout)
    tune = recipe / "exp" / "tune_transition"
    # ./run.sh trained stages A and B on the same data with the same options: the base run is its
    assert "./run.sh trained stages A and B on the same data" in proc.stdout + proc.stderr
    for st in ("csst_stageA", "csst_stageB", "stats_stageC"):
        assert (tune / "base" / st).resolve() == (recipe / "exp" / st).resolve(), st
    # and the dev sets' frames come from the recipe's one cache
    assert " dump/frames/" in (recipe / "dump_tune" / "raw" / "test_st_dev_cs" / "feats.scp").read_text()
    for d in ("v0", "v1", "v0.seed1", "v1.seed1"):
        assert (tune / d / "csst_stageC" / "decode_st_dev_cs" / "1best_recog" / "text").stat().st_size > 0, d
        # every seed and variant starts stage C from the one shared stage-B model
        assert (tune / d / "csst_stageB").resolve() == (tune / "base" / "csst_stageB").resolve()
    assert yaml.safe_load((tune / "v1.seed1" / "csst_stageC" / "config.yaml").read_text())["seed"] == 1
    results = json.loads((recipe / "RESULTS.json").read_text())
    table = "Dev: transition loss of stage C (local/tune_transition.sh)"
    (sig,) = [e for e in results["significance"] if e["table"] == table and e["test_set"] == "dev_cs"]
    assert sig["system"].startswith("v1:") and sig["baseline"].startswith("v0:") and sig["seeds"] == [0, 1]
    md = (recipe / "RESULTS.md").read_text()
    v1 = next(ln for ln in md.splitlines() if ln.startswith("| v1: ") and "| dev_cs |" in ln)
    assert "| 0 1 |" in v1 and " ± " in v1
    # rerun: nothing is trained again, every variant/seed is only rescored
    again = subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, timeout=ABLATION_TIMEOUT_S, env=env)
    assert again.returncode == 0 and "stage C and dev decoding" not in again.stdout + again.stderr
    bad = subprocess.run(["local/tune_transition.sh", "--seeds", "0 x"], cwd=recipe, capture_output=True, text=True)
    assert bad.returncode != 0 and "'x' is not a non-negative integer" in bad.stderr
    # each variant/seed and the stage-B model are recorded (ablation_runs/, kept in git); the rows read the record
    record = recipe / "ablation_runs"
    for name in ("transition_v0/seed0", "transition_v1/seed1", "transition_stageB/seed0"):
        assert (record / name / "hyp" / "dev_mono").stat().st_size > 0 and (record / name / "settings.txt").is_file()
    assert (record / "transition_v1" / "seed0" / "train_seconds").is_file()
    rows = [r for r in json.loads((recipe / "RESULTS.json").read_text())["rows"] if r.get("table", "").startswith("Dev:")]
    assert rows and all(r["hyp"].startswith("ablation_runs/transition_") for r in rows if r.get("hyp"))
    # a fresh checkout: nothing is trained, the rows stay
    shutil.rmtree(tune)
    proc = subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, timeout=ABLATION_TIMEOUT_S, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "stage C and dev decoding" not in proc.stdout and not tune.exists()
    assert re.search(r"best on dev: v[01]", proc.stdout)
