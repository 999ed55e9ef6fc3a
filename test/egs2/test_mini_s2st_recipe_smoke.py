"""Smoke run of the whole mini S2ST recipe (stages 1-11) on a micro corpus with micro models.

Runs the real run.sh/s2st.sh from a copy of the recipe whose path contains a
space: corpus, token list, LLM text pre-training, k-means units, unit dump,
vocoder, English CTC ASR, the four ablation systems, decoding, vocoding + ASR,
scoring and the listening page; then stages 5, 6 and 10 again with deduplicated units,
the HiFi-GAN and a tiny random Whisper as the ASR judge (the recipe's default judge is the
packaged Whisper base, which tests do not load).
"""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from test.csst_utils import nonfinite_loss_epochs, shrink_config

pytestmark = pytest.mark.slow  # runs the recipe's command lines on a micro corpus (test/README.md)

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "egs2" / "TEMPLATE" / "s2st_lm1"
RECIPE = REPO / "egs2" / "mini_cs" / "s2st_lm1"

S2ST_SIZES = dict(n_s2st_train=12, n_s2st_dev=4, n_s2st_test=4, n_text=60)
MICRO_UNIT_LM = {
    "llm_conf": {"arch": "llama", "config": {
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
        "num_key_value_heads": 2, "max_position_embeddings": 352, "tie_word_embeddings": True}},
    "batch_size": 4,
    "max_epoch": 2,
}
MICRO_ASR = {
    "frontend_conf": {"fs": "16k", "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 20},
    "encoder_conf": {"output_size": 16, "attention_heads": 2, "linear_units": 32, "num_blocks": 1,
                     "cnn_module_kernel": 7},
    "batch_type": "folded",
    "batch_size": 4,
    "max_epoch": 1,
    "num_workers": 0,
}


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    work = tmp_path_factory.mktemp("recipe") / "mini s2st" / "s2st_lm1"
    (work / "conf").mkdir(parents=True)
    (work / "local").mkdir()
    for name in ("run.sh", "db.sh", "local/data.sh", "local/choose_units.sh"):
        (work / name).write_bytes((RECIPE / name).read_bytes())
        (work / name).chmod(0o755)
    for name in ("path.sh", "scripts", "s2st.sh"):
        (work / name).symlink_to(TEMPLATE / name)
    shrink_config(RECIPE / "conf" / "train_unit_lm.yaml", work / "conf" / "train_unit_lm.yaml", MICRO_UNIT_LM)
    shrink_config(RECIPE / "conf" / "asr_ctc.yaml", work / "conf" / "asr_ctc.yaml", MICRO_ASR)
    (work / "conf" / "decode_unit_lm.yaml").write_text("batch_size: 4\nbeam_size: 1\nmaxlen: 20\n")
    (work / "conf" / "vocoder.yaml").write_text("embed_dim: 16\nchannels: 16\nnum_layers: 1\nmel_layers: 1\n")
    return work


def run(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    corpus_opts = " ".join(f"--{k} {v}" for k, v in S2ST_SIZES.items())
    cmd = ["./run.sh", "--nj", "2", "--vocab_size", "120", "--n_units", "12", "--kmeans_portion", "1.0",
           "--local_data_opts", f"--seed 5 --corpus_opts '{corpus_opts}' --pretrained none", "--asr_judge", "ctc",
           "--llm_pretrain_args", "--steps 3 --batch_size 8 --n_dev 4 --n_dev_bleu 2 --log_interval 1 "
                                  "--dev_bleu_interval 3",
           "--vocoder_args", "--steps 4 --batch_size 4 --config conf/vocoder.yaml --log_interval 2",
           "--n_listen", "2", *args]
    proc = subprocess.run(cmd, cwd=recipe, env=dict(os.environ), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def test_whole_recipe_runs_and_writes_the_ablation(recipe):
    run(recipe)
    times = [ln.split("\t") for ln in (recipe / "exp" / "stage_times.tsv").read_text().splitlines()]
    assert [int(t[0]) for t in times] == list(range(1, 13))
    assert (recipe / "exp" / "unit_lm_c" / "packed.zip").stat().st_size > 0  # stage 12

    results = json.loads((recipe / "RESULTS.json").read_text())
    rows = {(r["key"], r["set"]): r for r in results["rows"]}
    for key in ("a", "b", "c", "d", "units_vocoded", "audio"):
        for dset in ("s2st_dev", "s2st_test"):
            row = rows[(key, dset)]
            assert 0.0 <= row["ASR_BLEU"] <= 100.0 and row["n"] > 0
    assert 0.0 <= rows[("c", "s2st_test")]["unit_acc"] <= 100.0
    md = (recipe / "RESULTS.md").read_text()
    assert "ASR-BLEU" in md and "Wall time per stage" in md and "ceiling: reference audio" in md
    assert re.search(r"CPU core\(s\) of .+ \(AMX: (yes|no), AVX512-BF16: (yes|no)\)", md)  # the times' machine
    # the scoring and packing stages' own times are in the table (rendered again after their clocks stop)
    assert "| 11 | score |" in md and "| 12 | pack |" in md

    # the systems differ in what the config says about interleaving
    conf = {s: yaml.safe_load((recipe / "exp" / f"unit_lm_{s}" / "config.yaml").read_text())["model_conf"]
            for s in "abcd"}
    assert conf["a"]["interleave_schedule"] == "none"
    assert conf["b"]["interleave_schedule"] == "constant"
    assert conf["c"]["interleave_schedule"] == "step" and conf["d"]["interleave_tgt"] is False
    log_c = (recipe / "exp" / "unit_lm_c" / "train.log").read_text()
    assert "interleave_p=0.9" in log_c and "text_share=" in log_c
    # no unit LM had a non-finite loss (issue 19 item 4)
    shares = nonfinite_loss_epochs(recipe / "exp", "unit_lm_[abcd]")
    assert len(shares) == 4 and all(v == 0 for vs in shares.values() for v in vs), shares

    # one decoded line and one waveform per test utterance; the listening page links them
    n_test = len((recipe / "dump" / "units" / "s2st_test" / "src_units").read_text().splitlines())
    decode = recipe / "exp" / "unit_lm_c" / "decode_s2st_test"
    assert len((decode / "1best_recog" / "units").read_text().splitlines()) == n_test
    # a micro model may end an utterance at once: no units, no audio, listed in failed, scored empty
    n_failed = len((decode / "synth" / "failed").read_text().splitlines())
    assert len((decode / "synth" / "asr_text").read_text().splitlines()) == n_test - n_failed
    page = (recipe / "exp" / "listen" / "index.html").read_text()
    assert page.count("<audio") >= 2 * 2  # 2 utterances x (reference audio, reference units vocoded)


HIFIGAN_MICRO = """\
embed_dim: 8
channels: 16
kernel_size: 3
upsample_scales: [4, 4, 5, 8]
resblock_kernel_sizes: [3]
resblock_dilations: [[1]]
duration_channels: 8
discriminator:
  scales: 1
  periods: [2]
  scale_discriminator_params: {channels: 4, max_downsample_channels: 8, max_groups: 2, downsample_scales: [2, 1]}
  period_discriminator_params: {channels: 4, max_downsample_channels: 8, downsample_scales: [3, 1]}
"""


def test_deduplicated_units_with_a_hifigan_vocoder_and_a_whisper_judge(recipe):
    """Stages 5, 6 and 10 again with --dedup true, the unit HiFi-GAN and a tiny Whisper as the ASR judge
    (in CTranslate2's runtime, as run.sh's judge), next to the first run's outputs."""
    from test.encoders.test_ct2_whisper import MULTILINGUAL, save_tiny_whisper

    if not (recipe / "exp" / "units" / "kmeans.npz").is_file():
        run(recipe)  # this test alone: the whole recipe first
    exp = recipe / "exp_dedup"
    (exp / "units").mkdir(parents=True, exist_ok=True)
    (exp / "units" / "kmeans.npz").write_bytes((recipe / "exp" / "units" / "kmeans.npz").read_bytes())
    (recipe / "conf" / "hifigan.yaml").write_text(HIFIGAN_MICRO)
    judge = recipe / "tiny whisper"
    if not judge.is_dir():
        save_tiny_whisper(judge, **MULTILINGUAL)
    opts = ["--dedup", "true", "--dumpdir", "dump_dedup", "--expdir", "exp_dedup",
            "--asr_judge", "whisper", "--judge_model", str(judge), "--judge_args", "--backend ctranslate2 --max_new_tokens 4",
            "--systems", "", "--vocoder_type", "hifigan", "--vocoder_config", "conf/hifigan.yaml",
            "--vocoder_args", "--steps 2 --batch_size 2 --segment_units 8 --log_interval 1"]
    proc = run(recipe, "--stage", "5", "--stop_stage", "6", *opts)
    assert "hifigan unit vocoder" in proc.stdout
    proc = run(recipe, "--stage", "10", "--stop_stage", "10", *opts)  # the ceiling: reference units -> vocoder -> ASR
    assert (f"transcribing with Whisper {judge} (en transcription, asr_whisper_decode --backend ctranslate2 "
            "--max_new_tokens 4)") in proc.stdout
    # the judge ran in CTranslate2: the tiny Whisper converted once beside itself (a path with a space)
    assert (recipe / "tiny whisper-ctranslate2-float32" / "model.bin").is_file()

    dump = recipe / "dump_dedup" / "units" / "s2st_train"
    units = [line.split()[1:] for line in (dump / "tgt_units").read_text().splitlines()]
    durations = [list(map(int, line.split()[1:])) for line in (dump / "tgt_durations").read_text().splitlines()]
    assert [len(u) for u in units] == [len(d) for d in durations]
    assert all(a != b for u in units for a, b in zip(u, u[1:]))  # deduplicated
    assert any(x > 1 for d in durations for x in d)
    frame_units = [line.split()[1:] for line in (recipe / "dump" / "units" / "s2st_train" / "tgt_units")
                   .read_text().splitlines()]
    assert sum(map(len, units)) < sum(map(len, frame_units))

    saved = yaml.safe_load((exp / "vocoder" / "config.yaml").read_text())
    assert saved["vocoder_type"] == "hifigan" and saved["vocoder"]["duration_predictor"] is True
    vocoded = exp / "reference" / "s2st_test" / "units_vocoded"
    n_test = len((recipe / "dump_dedup" / "units" / "s2st_test" / "tgt_units").read_text().splitlines())
    assert len((vocoded / "wav.scp").read_text().splitlines()) == n_test
    assert len((vocoded / "asr_text").read_text().splitlines()) == n_test
    asr_log = (exp / "reference" / "synthesize.asr.log").read_text()
    assert "transcribing" in asr_log and "Whisper" in asr_log and "CTC" not in asr_log


def test_train_launcher_trains_a_system_data_parallel(recipe):
    """--train_launcher: stage 8 under torch.distributed.run, 2 CPU processes with gloo (ESPnet's
    external-launcher mode), from the first run's pre-trained LLM and unit dump."""
    if not (recipe / "exp" / "llm_pretrain" / "llm.pth").is_file():
        run(recipe)  # this test alone: the whole recipe first
    exp = recipe / "exp_ddp"
    exp.mkdir(exist_ok=True)
    if not (exp / "llm_pretrain").exists():
        (exp / "llm_pretrain").symlink_to(recipe / "exp" / "llm_pretrain")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    launcher = f"{sys.executable} -m torch.distributed.run --nproc_per_node 2 --master_addr 127.0.0.1 " \
               f"--master_port {port}"
    run(recipe, "--stage", "8", "--stop_stage", "8", "--expdir", "exp_ddp", "--systems", "c",
        "--train_launcher", launcher, "--train_args", "--dist_backend gloo --max_epoch 1")
    log = (exp / "unit_lm_c" / "train.log").read_text()
    assert re.search(r"\[\S+:0/2\]", log) and "The training was finished" in log  # rank 0 of 2
    assert (exp / "unit_lm_c" / "valid.acc.best.pth").is_file()


def test_choose_units_compares_unit_inventories_on_dev(recipe):
    """local/choose_units.sh with a tiny Whisper's block 1 as the unit features, and with them as the
    source's own inventory beside MFCC target units (s2st.sh --src_n_units): k-means, dump and vocoder
    (stages 4-6 in their own dirs), the resynthesis ceiling, a unit LM (stages 8-9) and its dev
    ASR-BLEU, one table; a rerun redoes nothing; the two-inventory system packs with both k-means."""
    from test.encoders.test_ct2_whisper import MULTILINGUAL, save_tiny_whisper

    if not (recipe / "exp" / "llm_pretrain" / "llm.pth").is_file():
        run(recipe, "--stop_stage", "3")  # this test alone: data, token list and LLM first
    judge = recipe / "tiny whisper"
    if not judge.is_dir():
        save_tiny_whisper(judge, **MULTILINGUAL)
    two = "whisper1_k10+mfcc_k12"
    cmd = ["local/choose_units.sh", "--candidates", f"whisper1_k12 {two}", "--unit_lm_system", "a",
           "--whisper", str(judge), "--judge_args", "--max_new_tokens 4",
           "--run_opts", "--vocab_size 120 --kmeans_portion 1.0 "
                         "--vocoder_args '--steps 4 --batch_size 4 --config conf/vocoder.yaml --log_interval 2'"]
    proc = subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for step in ("Stage 4: unit k-means", "Stage 6: vocoder", "Stage 8: train unit LM", "Stage 9: decode"):
        assert step in proc.stdout
    rows = json.loads((recipe / "exp" / "unit_study" / "results.json").read_text())
    assert [r["candidate"] for r in rows] == ["whisper1_k12", two]
    row, row2 = rows
    n_dev = len((recipe / "data" / "s2st_dev" / "wav.scp.en").read_text().splitlines())
    assert row["features"] == "whisper layer 1, stack 2" and row["K"] == 12 and row["unit_ms"] == 40
    assert row["src_units"] == "shared"
    assert row["ceiling_n"] == n_dev and 0.0 <= row["ceiling_ASR_BLEU"] <= 100.0
    assert 0.0 <= row["unit_acc"] <= 100.0 and row["system_ASR_BLEU"] is not None
    assert row["frames_per_run"] >= 1.0 and row["seconds"] > 0
    assert "| whisper1_k12 | whisper layer 1, stack 2 | 12 | 40 | shared |" in (recipe / "exp" / "unit_study" / "results.md").read_text()
    # the recipe's own units, models and results are untouched: the study has its own dirs
    assert (recipe / "dump" / "unit_study" / "whisper1_k12" / "units" / "s2st_dev" / "tgt_units").is_file()
    assert not (recipe / "dump" / "unit_study" / "whisper1_k12" / "units" / "s2st_test").exists()  # dev only

    # the source's own units: Whisper block 1 with 10 clusters; the target's: MFCC with 12
    assert row2["features"] == "mfcc, stack 4" and row2["K"] == 12 and row2["src_units"] == "whisper layer 1, stack 2, K 10"
    assert 0.0 <= row2["unit_acc"] <= 100.0 and row2["system_ASR_BLEU"] is not None
    exp2, dump2 = recipe / "exp" / "unit_study" / two, recipe / "dump" / "unit_study" / two / "units" / "s2st_dev"
    assert yaml.safe_load((exp2 / "unit_lm_a" / "config.yaml").read_text())["n_src_units"] == 10
    src_units = [int(u) for line in (dump2 / "src_units").read_text().splitlines() for u in line.split()[1:]]
    tgt_units = [int(u) for line in (dump2 / "tgt_units").read_text().splitlines() for u in line.split()[1:]]
    assert max(src_units) < 10 and max(tgt_units) < 12
    log = proc.stdout
    # the target's k-means learns from the target's speech alone, the source's from the source's
    assert "mfcc features of 1.0 of data/s2st_train/wav.scp.en ->" in log
    assert "whisper features of 1.0 of data/s2st_train/wav.scp.es ->" in log
    assert f"k-means with 10 clusters -> exp/unit_study/{two}/units/src_kmeans.npz" in log
    results_before = (recipe / "RESULTS.md").read_text() if (recipe / "RESULTS.md").exists() else None
    pack = subprocess.run(["./run.sh", "--stage", "12", "--stop_stage", "12", "--expdir", str(exp2),
                           "--pack_system", "a", "--n_units", "12", "--src_n_units", "10"],
                          cwd=recipe, capture_output=True, text=True, timeout=300)
    assert pack.returncode == 0, pack.stdout[-3000:] + pack.stderr[-3000:]
    import zipfile

    with zipfile.ZipFile(exp2 / "unit_lm_a" / "packed.zip") as z:
        assert any(n.endswith("src_kmeans.npz") for n in z.namelist())
    # the study's pack leaves the recipe's RESULTS.md (scored from exp/) as it was
    assert ((recipe / "RESULTS.md").read_text() if (recipe / "RESULTS.md").exists() else None) == results_before

    again = subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "==== Stage" not in again.stdout, again.stdout[-3000:]
    assert again.stdout.count("already") == 8
    bad = subprocess.run(["local/choose_units.sh", "--candidates", "hubert6_k50"], cwd=recipe,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "candidate 'hubert6_k50'" in bad.stdout + bad.stderr

