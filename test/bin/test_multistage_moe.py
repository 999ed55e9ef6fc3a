"""Stages A -> B of the recipe with the MoE projector and the transition loss, at toy sizes.

Stage A (ASR) trains the MoE projector with its language and balance losses; stage B
(monolingual ST) starts from it, replays stage A's data (add_replay) under the
transition schedule, and is then resumed for one more epoch: the step counter and
the schedule continue from the checkpoint. The stage-A model also feeds the layer
selection of the OT alignment loss (select_align_layers), and stage B trains once
more with that loss on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

import yaml

from espnet_csst.bin import (add_replay, copy_data_dir, make_task_dir, make_token_list, plot_stages, routing_report,
                             select_align_layers)
from espnet_csst.losses.transition import TransitionSchedule
from test.bin.test_csst_pipeline import run, task_data_args
from test.csst_utils import LLM_CONFIG, write_config

pytestmark = pytest.mark.slow  # runs the recipe's command lines on a micro corpus (test/README.md)

MOE = {"languages": ["es", "en"], "num_experts": 2, "top_k": 1, "downsample": 2, "hidden_size": 32}
SCHEDULE = dict(transition_lambda0=1.0, transition_lambda_min=0.2, transition_steps=20, transition_schedule="linear")


def data_args(prefix, d):
    """The recipe's data options (test_csst_pipeline) plus lang_ali and, when replayed, replay."""
    extra = ["lang_ali,lang_ali,text"] + (["replay,replay,text"] if (d / "replay").exists() else [])
    return [*task_data_args(prefix, d),
            *[a for name in extra for a in (f"--{prefix}_data_path_and_name_and_type", f"{d}/{name}")]]


@pytest.fixture(scope="module")
def stages(mini_corpus, tmp_path_factory):
    work = tmp_path_factory.mktemp("moe")
    raw = work / "dump" / "raw"
    for s in ("train_asr_en", "train_mono_es", "dev_mono"):
        assert copy_data_dir.main(["--audio_root", str(mini_corpus), str(mini_corpus / "data" / s), str(raw / s)]) == 0
    mk = ["--languages", "es", "en", "cs"]
    assert make_task_dir.main([*mk, "--task", "asr", "--out", str(raw / "stageA_train"),
                               str(raw / "train_asr_en"), str(raw / "train_mono_es")]) == 0
    assert make_task_dir.main([*mk, "--task", "asr", "--out", str(raw / "stageA_valid"), str(raw / "dev_mono")]) == 0
    assert make_task_dir.main([*mk, "--task", "st", "--tgt_lang", "en", "--out", str(raw / "stageB_current"),
                               str(raw / "train_mono_es")]) == 0
    assert make_task_dir.main([*mk, "--task", "st", "--tgt_lang", "en", "--out", str(raw / "stageB_valid"),
                               str(raw / "dev_mono")]) == 0
    assert add_replay.main(["--replay", str(raw / "stageA_train"), "--ratio", "0.5", "--out",
                            str(raw / "stageB_train"), str(raw / "stageB_current")]) == 0
    tokens = work / "token_list"
    assert make_token_list.main([
        "--token_type", "bpe", "--out", str(tokens), "--vocab_size", "150", "--languages", "es", "en", "cs",
        "--kaldi_text", str(raw / "stageA_train" / "text"), str(raw / "stageB_train" / "text"),
        "--text", str(mini_corpus / "text" / "parallel.es"), str(mini_corpus / "text" / "parallel.en")]) == 0
    token_args = ["--token_type", "bpe", "--token_list", str(tokens / "tokens.txt"),
                  "--bpemodel", str(tokens / "bpe.model")]
    write_config(work / "conf.yaml", projector="moe", projector_conf=MOE, max_epoch=1, batch_size=6,
                 normalize="global_mvn",
                 llm_conf={"arch": "llama", "config": dict(LLM_CONFIG, max_position_embeddings=256)},
                 model_conf=dict(lang_loss_weight=0.5, balance_loss_weight=0.05, **SCHEDULE))

    def train(stage, *extra, stats=True, out=None):
        out = out or stage
        d_train, d_valid = raw / f"{stage}_train", raw / f"{stage}_valid"
        data = [*data_args("train", d_train), *data_args("valid", d_valid)]
        if stats:
            run("espnet_csst.bin.csst_train", "--collect_stats", "true", "--config", "conf.yaml", *token_args,
                "--normalize", "none", "--num_workers", "0", *data, "--train_shape_file", f"{d_train}/wav.scp",
                "--valid_shape_file", f"{d_valid}/wav.scp", "--output_dir", f"stats_{stage}", cwd=work)
        r = run("espnet_csst.bin.csst_train", "--config", "conf.yaml", "--ngpu", "0", *token_args, *data,
                "--normalize_conf", f"stats_file=stats_{stage}/train/feats_stats.npz",
                "--train_shape_file", f"stats_{stage}/train/speech_shape",
                "--valid_shape_file", f"stats_{stage}/valid/speech_shape",
                "--resume", "true", "--output_dir", out, "--log_interval", "1", *extra, cwd=work)
        with open(work / out / "train.log", "a", encoding="utf-8") as f:  # as csst.sh keeps it
            f.write(r.stderr)

    train("stageA")
    init = f"{work / 'stageA' / 'valid.acc.best.pth'}:::transition_step"
    train("stageB", "--init_param", init)
    n_b = len((raw / "stageB_train" / "wav.scp").read_text().splitlines())
    return {"work": work, "raw": raw, "train": train, "init": init, "n_b": n_b}


def steps_in(model_file: Path) -> int:
    """The transition counter saved with the model (ESPnet's <epoch>epoch.pth, latest.pth)."""
    return int(torch.load(model_file, map_location="cpu", weights_only=True)["transition_step"])


def logged(log: Path, key: str):
    return [float(v) for v in re.findall(rf"\b{key}=([0-9.e+-]+)", log.read_text())]


def test_moe_stage_logs_routing(stages):
    log = (stages["work"] / "stageA" / "train.log").read_text()
    for key in ("loss_lang=", "loss_balance=", "route_acc=", "route_acc_es=", "route_acc_en=", "load_es_e0="):
        assert key in log, key
    # stage A has no replayed data: no transition weight
    assert "transition_weight=" not in log


def test_replay_dir_marks_the_previous_stage(stages):
    raw = stages["raw"]
    flags = dict(line.split() for line in (raw / "stageB_train" / "replay").read_text().splitlines())
    n_cur = len((raw / "stageB_current" / "wav.scp").read_text().splitlines())
    assert sum(v == "0" for v in flags.values()) == n_cur and sum(v == "1" for v in flags.values()) == round(0.5 * n_cur)
    assert all(k.startswith("replay-") == (v == "1") for k, v in flags.items())
    tasks = dict(line.split(" ", 1) for line in (raw / "stageB_train" / "task").read_text().splitlines())
    assert all(tasks[k].startswith("asr") for k, v in flags.items() if v == "1")


def test_transition_schedule_starts_at_zero_and_resumes(stages):
    work = stages["work"]
    b1 = steps_in(work / "stageB" / "latest.pth")
    # --init_param left stage A's counter behind: stage B counted only its own steps
    steps_a = steps_in(work / "stageA" / "latest.pth")
    assert steps_a > 0 and 0 < b1 < steps_a + b1
    weights = logged(work / "stageB" / "train.log", "transition_weight")
    schedule = TransitionSchedule(1.0, 0.2, 20, "linear")
    assert b1 < 20, "the test needs the schedule to be still decaying after one epoch"
    assert weights[0] == pytest.approx(schedule.weight(0))
    # one more epoch with --resume: the counter and the schedule continue
    stages["train"]("stageB", "--init_param", stages["init"], "--max_epoch", "2", stats=False)
    b2 = steps_in(work / "stageB" / "latest.pth")
    assert b2 == 2 * b1
    after = logged(work / "stageB" / "train.log", "transition_weight")[len(weights):]
    assert after and after[0] == pytest.approx(schedule.weight(b1))


def test_routing_report_and_stage_plot(stages, tmp_path, monkeypatch):
    work, raw = stages["work"], stages["raw"]
    monkeypatch.chdir(work)  # the config's paths (statistics) are relative, as in a recipe
    out = tmp_path / "routing"
    assert routing_report.main(["--csst_train_config", str(work / "stageA" / "config.yaml"),
                                "--csst_model_file", str(work / "stageA" / "valid.acc.best.pth"),
                                "--data_dir", str(raw / "stageB_valid"), "--output_dir", str(out)]) == 0
    summary = json.loads((out / "routing.json").read_text())
    n_utts = len((raw / "stageB_valid" / "wav.scp").read_text().splitlines())
    assert summary["labelled_tokens"] > n_utts and 0.0 <= summary["all"]["accuracy"] <= 1.0
    # dev_mono is monolingual Spanish: every labelled token is 'es', none code-switched
    assert summary["monolingual"]["tokens"] == summary["labelled_tokens"] == summary["per_language"]["es"]["tokens"]
    assert summary["code_switched"]["tokens"] == 0
    usage = summary["usage"]
    assert usage["rows"] == ["es", "en", "(none)"] and usage["columns"] == ["es/e0", "es/e1", "en/e0", "en/e1"]
    assert sum(usage["share"][0]) == pytest.approx(1.0, abs=1e-3)
    assert (out / "routing.png").stat().st_size > 0

    png = tmp_path / "stages.png"
    assert plot_stages.main(["--out", str(png), f"A={work / 'stageA' / 'train.log'}",
                             f"B={work / 'stageB' / 'train.log'}"]) == 0
    assert png.stat().st_size > 0
    steps = [step for step, _ in plot_stages.parse_log(work / "stageA" / "train.log")]
    assert steps == sorted(steps) and steps[0] == 1


def test_select_align_layers_on_the_stage_a_model(stages, tmp_path, monkeypatch):
    work, raw = stages["work"], stages["raw"]
    monkeypatch.chdir(work)
    out = tmp_path / "align"
    assert select_align_layers.main(["--csst_train_config", str(work / "stageA" / "config.yaml"),
                                     "--csst_model_file", str(work / "stageA" / "valid.acc.best.pth"),
                                     "--data_dir", str(raw / "stageB_valid"), "--output_dir", str(out),
                                     "--top_k", "1"]) == 0
    summary = json.loads((out / "layers.json").read_text())
    rows = summary["layers"]
    assert [r["layer"] for r in rows] == list(range(LLM_CONFIG["num_hidden_layers"] + 1))
    n = summary["utterances"]
    assert n == len((raw / "stageB_valid" / "wav.scp").read_text().splitlines())
    for r in rows:
        assert 0.0 <= r["R@1"] <= r["R@5"] <= 1.0 and 1.0 / n <= r["MRR"] <= 1.0 and r["ot_distance"] > 0
    best_inner = max(rows[1:], key=lambda r: (r["MRR"], r["R@1"]))["layer"]
    assert summary["chosen"] == [best_inner]
    fragment = yaml.safe_load((out / "ot_layers.yaml").read_text())
    assert fragment == {"model_conf": {"ot_layers": [best_inner]}}
    assert "| layer | R@1 |" in (out / "layers.md").read_text()
    assert (out / "layers.png").stat().st_size > 0


def test_a_stage_trains_with_the_ot_loss_on_the_chosen_layers(stages):
    work = stages["work"]
    stages["train"]("stageB", "--init_param", stages["init"], "--max_epoch", "1", "--model_conf", "ot_weight=0.5",
                    "--model_conf", "ot_layers=[1,2]", stats=False, out="stageB_ot")
    log = (work / "stageB_ot" / "train.log").read_text()
    for layer in (1, 2):
        values = logged(work / "stageB_ot" / "train.log", f"loss_ot_l{layer}")
        assert values and all(v > 0 for v in values)
    assert "loss_ot=" in log
