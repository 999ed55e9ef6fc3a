"""UnitLMTask end to end at toy sizes: ESPnet's trainer on unit files, resume, decoding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from test.csst_utils import LLM_CONFIG, subprocess_env

K = 16
WORDS_ES = "el gato come hoy casa agua".split()
WORDS_EN = "the cat eats today house water".split()

CONFIG = {
    "llm": "hf_causal_lm",
    "llm_conf": {"arch": "llama", "config": dict(LLM_CONFIG)},
    "model": "unit_lm",
    "model_conf": {"interleave_schedule": "step", "interleave_p0": 0.9, "interleave_delta": 0.3,
                   "interleave_interval": 2},
    "optim": "adam", "optim_conf": {"lr": 0.003},
    "batch_type": "sorted", "batch_size": 4, "max_epoch": 2, "num_workers": 0, "seed": 0,
    "best_model_criterion": [["valid", "acc", "max"]], "keep_nbest_models": 1, "num_att_plot": 0,
    "use_tensorboard": False,
}


def run(module, *args, cwd):
    r = subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                       env=subprocess_env(), cwd=cwd, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def write_set(d: Path, n: int, seed: int):
    """Units of made-up utterances with word_frames: 3 units per word, a pause unit between words."""
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True)
    files = {name: [] for name in ("src_units", "tgt_units", "src_word_frames", "tgt_word_frames", "task",
                                   "src_units_shape", "tgt_units_shape")}
    for i in range(n):
        uid = f"utt{seed}_{i:03d}"
        idx = rng.choice(len(WORDS_ES), size=rng.integers(1, 4), replace=False)
        for side, words in (("src", WORDS_ES), ("tgt", WORDS_EN)):
            units, spans = [], []
            for j in idx:
                units.append(0)  # pause
                spans.append(f"{len(units)} {len(units) + 3} {words[j]}")
                units.extend([1 + j * 2, 2 + j * 2, 2 + j * 2])
            files[f"{side}_units"].append(f"{uid} {' '.join(map(str, units))}")
            files[f"{side}_word_frames"].append(f"{uid} {' '.join(spans)}")
            files[f"{side}_units_shape"].append(f"{uid} {len(units)}")
        files["task"].append(f"{uid} s2st es en")
    for name, lines in files.items():
        (d / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_bpe):
    work = tmp_path_factory.mktemp("unit_lm")
    write_set(work / "train", 24, seed=0)
    write_set(work / "valid", 6, seed=1)
    (work / "conf.yaml").write_text(yaml.safe_dump(CONFIG), encoding="utf-8")

    def data(split):
        d = work / split
        return [f"--{split}_data_path_and_name_and_type", f"{d}/src_units,src_units,text_int",
                f"--{split}_data_path_and_name_and_type", f"{d}/tgt_units,tgt_units,text_int",
                f"--{split}_data_path_and_name_and_type", f"{d}/src_word_frames,src_word_frames,text",
                f"--{split}_data_path_and_name_and_type", f"{d}/tgt_word_frames,tgt_word_frames,text",
                f"--{split}_data_path_and_name_and_type", f"{d}/task,task,text",
                f"--{split}_shape_file", f"{d}/src_units_shape"]

    def train(*extra):
        return run("espnet_csst.bin.unit_lm_train", "--config", "conf.yaml", "--token_list", tiny_bpe["token_list"],
                   "--bpemodel", tiny_bpe["bpemodel"], "--n_units", K, "--ngpu", "0", *data("train"),
                   *data("valid"), "--output_dir", "exp", "--resume", "true", *extra, cwd=work)

    r = train()
    return {"work": work, "train": train, "log": r.stderr}


def step_of(model_file: Path) -> int:
    state = torch.load(model_file, map_location="cpu", weights_only=True)
    return int(state.get("model", state)["interleave_step"])


@pytest.mark.slow
def test_training_logs_the_schedule_and_saves_its_step(trained):
    exp = trained["work"] / "exp"
    assert (exp / "valid.acc.best.pth").exists()
    log = trained["log"]
    assert "interleave_p=" in log and "unit_acc=" in log
    assert step_of(exp / "2epoch.pth") == 12  # 24 utterances / 4 per batch x 2 epochs
    conf = yaml.safe_load((exp / "config.yaml").read_text())
    assert conf["n_units"] == K and isinstance(conf["token_list"], list)


@pytest.mark.slow
def test_resume_continues_the_step_counter(trained):
    trained["train"]("--max_epoch", "3")
    exp = trained["work"] / "exp"
    assert step_of(exp / "3epoch.pth") == 18


@pytest.mark.slow
def test_inference_writes_units_for_every_utterance(trained):
    work = trained["work"]
    run("espnet_csst.bin.unit_lm_inference", "--train_config", "exp/config.yaml",
        "--model_file", "exp/valid.acc.best.pth", "--data_path_and_name_and_type",
        "valid/src_units,src_units,text_int", "--data_path_and_name_and_type", "valid/task,task,text",
        "--output_dir", "decode", "--batch_size", "4", "--maxlen", "12", cwd=work)
    lines = (work / "decode/1best_recog/units").read_text().splitlines()
    assert len(lines) == 6
    for line in lines:
        units = [int(u) for u in line.split()[1:]]
        assert len(units) <= 12 and all(0 <= u < K for u in units)
    assert (work / "decode/failed").read_text() == ""


@pytest.mark.slow
def test_other_source_accuracy_swaps_the_sources_within_the_batch(trained):
    """unit_acc_other_src is unit_acc with each utterance's source replaced by the previous one's."""
    from espnet_csst.bin.unit_lm_inference import Units2Units
    from espnet_csst.tasks.unit_lm import UnitLMTask

    work = trained["work"]
    u2u = Units2Units(work / "exp/config.yaml", work / "exp/valid.acc.best.pth")
    loader = UnitLMTask.build_streaming_iterator(
        [(str(work / "valid/src_units"), "src_units", "text_int"), (str(work / "valid/tgt_units"), "tgt_units", "text_int"),
         (str(work / "valid/task"), "task", "text")], dtype="float32", batch_size=3, key_file=None, num_workers=0,
        preprocess_fn=u2u.preprocess, collate_fn=u2u.collate, allow_variable_data_keys=False, inference=True)
    _, batch = next(iter(loader))
    swapped = dict(batch)
    for key in ("src_units", "src_units_lengths"):
        swapped[key] = batch[key][[2, 0, 1]]
    assert u2u.unit_accuracy_other_source(batch) == u2u.unit_accuracy(swapped)
    one = {k: v[:1] for k, v in batch.items()}
    assert u2u.unit_accuracy_other_source(one) is None
    run("espnet_csst.bin.unit_lm_inference", "--train_config", "exp/config.yaml",
        "--model_file", "exp/valid.acc.best.pth", "--data_path_and_name_and_type",
        "valid/src_units,src_units,text_int", "--data_path_and_name_and_type", "valid/tgt_units,tgt_units,text_int",
        "--data_path_and_name_and_type", "valid/task,task,text",
        "--output_dir", "decode_acc", "--batch_size", "3", "--maxlen", "4", cwd=work)
    for name in ("unit_acc", "unit_acc_other_src"):
        assert len((work / "decode_acc" / name).read_text().splitlines()) == 6


@pytest.mark.slow
def test_units2units_api_matches_the_cli(trained):
    from espnet_csst.bin.unit_lm_inference import Units2Units

    work = trained["work"]
    u2u = Units2Units(work / "exp/config.yaml", work / "exp/valid.acc.best.pth", task_spec="s2st es en", maxlen=12)
    first = (work / "valid/src_units").read_text().splitlines()[0].split()
    cli = {}
    for line in (work / "decode/1best_recog/units").read_text().splitlines():
        key, *units = line.split(maxsplit=1)  # an utterance may end at once: "utt " with no units
        cli[key] = units[0] if units else ""
    hyp = u2u([int(u) for u in first[1:]])[0]["units"]
    assert " ".join(map(str, hyp)) == cli[first[0]].strip()


@pytest.mark.slow
def test_speech2speech_runs_units_lm_and_vocoder_from_a_waveform_at_any_rate(trained, tmp_path, monkeypatch):
    """Issue 9's unit-to-speech API: waveform -> the recipe's units -> unit LM -> vocoder waveform."""
    from espnet_csst.bin.unit_lm_inference import Speech2Speech, Units2Units
    from espnet_csst.units.audio import resample_to
    from espnet_csst.units.features import build_feature_extractor
    from espnet_csst.units.kmeans import assign_units, learn_kmeans, save_kmeans
    from espnet_csst.units.vocoder import UnitMelVocoder, save_vocoder

    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    speech = (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.01 * rng.standard_normal(16000)).astype(np.float32)
    extractor = build_feature_extractor("mfcc")
    feats = np.concatenate([extractor(speech, 16000), rng.standard_normal((200, extractor.dim)).astype(np.float32)])
    centroids = learn_kmeans(feats, K, seed=0)
    save_kmeans(tmp_path / "kmeans.npz", centroids, extractor.config())
    torch.manual_seed(0)
    save_vocoder(tmp_path / "voc", UnitMelVocoder(K, 640, embed_dim=8, channels=16, num_layers=1, mel_layers=1))
    exp = trained["work"] / "exp"
    s2s = Speech2Speech(exp / "config.yaml", exp / "valid.acc.best.pth", tmp_path / "kmeans.npz", tmp_path / "voc",
                        task_spec="s2st es en", maxlen=12, griffin_lim_iters=2)

    units16 = s2s.speech_to_units(speech, 16000)
    assert units16 == assign_units(extractor(speech, 16000), centroids).tolist()  # what dump_units writes
    speech22 = resample_to(speech, 16000, 22050)
    units22 = s2s.speech_to_units(speech22, 22050)
    assert len(units22) == len(units16) and np.mean(np.array(units22) == np.array(units16)) > 0.8

    fixed = [3, 4, 4, 5]  # the LM's output, fixed: the vocoder's part is what is checked here
    monkeypatch.setattr(Units2Units, "__call__", lambda self, units: [{"units": fixed, "score": 0.0}])
    wav, fs = s2s(speech22, fs=22050)
    assert fs == 16000 and wav.dtype == np.float32 and len(wav) == len(fixed) * 640
    monkeypatch.setattr(Units2Units, "__call__", lambda self, units: [{"units": [], "score": 0.0}])
    with pytest.raises(ValueError, match="before any unit"):
        s2s(speech)
    save_vocoder(tmp_path / "voc8", UnitMelVocoder(8, 640, embed_dim=8, channels=16, num_layers=1, mel_layers=1))
    with pytest.raises(ValueError, match="must come from one recipe run"):
        Speech2Speech(exp / "config.yaml", exp / "valid.acc.best.pth", tmp_path / "kmeans.npz", tmp_path / "voc8")

    # packed (pack_s2st), then loaded from the zip and from the zip unzipped: the same system
    import zipfile

    from espnet_csst.bin import pack_s2st

    monkeypatch.undo()
    zip_path = tmp_path / "s2st.zip"
    assert pack_s2st.main(["--model_dir", str(exp), "--kmeans", str(tmp_path / "kmeans.npz"),
                           "--vocoder_dir", str(tmp_path / "voc"), "--out", str(zip_path)]) == 0
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(tmp_path / "unzipped")
    direct = s2s.units2units(units16)[0]["units"]
    for source in (zip_path, tmp_path / "unzipped"):
        loaded = Speech2Speech.from_pretrained(source, cache_dir=tmp_path / "cache", task_spec="s2st es en",
                                               maxlen=12, griffin_lim_iters=2)
        assert loaded.speech_to_units(speech, 16000) == units16
        assert loaded.units2units(units16)[0]["units"] == direct, source
        if direct:
            assert np.array_equal(loaded(speech)[0], s2s(speech)[0])
    with pytest.raises(FileNotFoundError, match="unit_lm_train_config"):  # a CSST pack is not an S2ST one
        from espnet_csst.utils.pretrained import resolve_pretrained

        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "meta.yaml").write_text("files: {csst_model_file: m.pth}\nyaml_files: {}\n")
        resolve_pretrained(tmp_path / "other", ("unit_lm_train_config",))


K_SRC = 32  # the source's own inventory (its units reach 26): larger than the target's K, so shared units are refused


@pytest.mark.slow
def test_a_source_inventory_of_its_own_trains_decodes_and_packs(tmp_path, tiny_bpe):
    """--n_src_units: training, decoding, Speech2Speech (reading the source with its own k-means)
    and pack_s2st (both k-means in the zip) with source units from another inventory."""
    from espnet_csst.bin import pack_s2st
    from espnet_csst.bin.unit_lm_inference import Speech2Speech
    from espnet_csst.units.features import build_feature_extractor
    from espnet_csst.units.kmeans import assign_units, learn_kmeans, save_kmeans
    from espnet_csst.units.vocoder import UnitMelVocoder, save_vocoder

    work = tmp_path / "work"
    for split, n, seed in (("train", 12, 0), ("valid", 4, 1)):
        write_set(work / split, n, seed)
        src = work / split / "src_units"  # source units above K: only an inventory of K_SRC takes them
        src.write_text("".join(f"{u} " + " ".join(str(int(x) + K - 2) for x in rest) + "\n" for u, *rest in
                               (line.split() for line in src.read_text().splitlines())))
    conf = dict(CONFIG, max_epoch=1)
    (work / "conf.yaml").write_text(yaml.safe_dump(conf), encoding="utf-8")
    data = []
    for split in ("train", "valid"):
        d = work / split
        for name, kind in (("src_units", "text_int"), ("tgt_units", "text_int"), ("src_word_frames", "text"),
                           ("tgt_word_frames", "text"), ("task", "text")):
            data += [f"--{split}_data_path_and_name_and_type", f"{d}/{name},{name},{kind}"]
        data += [f"--{split}_shape_file", f"{d}/src_units_shape"]
    common = ["--config", "conf.yaml", "--token_list", tiny_bpe["token_list"], "--bpemodel", tiny_bpe["bpemodel"],
              "--n_units", K, "--ngpu", "0", *data]
    shared = subprocess.run([sys.executable, "-m", "espnet_csst.bin.unit_lm_train", *map(str, common),
                             "--output_dir", "exp_shared"], capture_output=True, text=True, env=subprocess_env(),
                            cwd=work, timeout=600)
    assert shared.returncode != 0 and "k-means" in shared.stderr  # the source's units do not fit K
    r = run("espnet_csst.bin.unit_lm_train", *common, "--n_src_units", K_SRC, "--output_dir", "exp", cwd=work)
    assert f"source units {K_SRC}" in r.stderr
    exp = work / "exp"
    assert yaml.safe_load((exp / "config.yaml").read_text())["n_src_units"] == K_SRC
    run("espnet_csst.bin.unit_lm_inference", "--train_config", "exp/config.yaml",
        "--model_file", "exp/valid.acc.best.pth", "--data_path_and_name_and_type",
        "valid/src_units,src_units,text_int", "--data_path_and_name_and_type", "valid/task,task,text",
        "--output_dir", "decode", "--batch_size", "4", "--maxlen", "12", cwd=work)
    lines = (work / "decode/1best_recog/units").read_text().splitlines()
    assert len(lines) == 4 and all(0 <= int(u) < K for line in lines for u in line.split()[1:])

    rng = np.random.default_rng(0)
    speech = (0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
              + 0.01 * rng.standard_normal(16000)).astype(np.float32)
    tgt_ex, src_ex = build_feature_extractor("mfcc"), build_feature_extractor("mfcc", stack=2)
    noise = rng.standard_normal((200, tgt_ex.dim)).astype(np.float32)
    save_kmeans(tmp_path / "kmeans.npz", learn_kmeans(noise, K, seed=0), tgt_ex.config())
    src_feats = np.concatenate([src_ex(speech, 16000), rng.standard_normal((200, src_ex.dim)).astype(np.float32)])
    src_centroids = learn_kmeans(src_feats, K_SRC, seed=0)
    save_kmeans(tmp_path / "src_kmeans.npz", src_centroids, src_ex.config())
    save_vocoder(tmp_path / "voc", UnitMelVocoder(K, 640, embed_dim=8, channels=16, num_layers=1, mel_layers=1))
    args = (exp / "config.yaml", exp / "valid.acc.best.pth", tmp_path / "kmeans.npz", tmp_path / "voc")
    s2s = Speech2Speech(*args, src_kmeans=tmp_path / "src_kmeans.npz", task_spec="s2st es en", maxlen=12,
                        griffin_lim_iters=2)
    units = s2s.speech_to_units(speech, 16000)
    assert units == assign_units(src_ex(speech, 16000), src_centroids).tolist()  # the source's own k-means
    with pytest.raises(ValueError, match="give src_kmeans"):
        Speech2Speech(*args)
    with pytest.raises(ValueError, match="must come from one recipe run"):  # K clusters, not K_SRC
        Speech2Speech(*args, src_kmeans=tmp_path / "kmeans.npz")

    zip_path = tmp_path / "s2st.zip"
    pack_args = ["--model_dir", str(exp), "--kmeans", str(tmp_path / "kmeans.npz"),
                 "--vocoder_dir", str(tmp_path / "voc"), "--out", str(zip_path)]
    assert pack_s2st.main(pack_args) == 1 and not zip_path.exists()  # the source's k-means is needed
    assert pack_s2st.main(pack_args + ["--src_kmeans", str(tmp_path / "src_kmeans.npz")]) == 0
    loaded = Speech2Speech.from_pretrained(zip_path, cache_dir=tmp_path / "cache", task_spec="s2st es en",
                                           maxlen=12, griffin_lim_iters=2)
    assert loaded.speech_to_units(speech, 16000) == units
    assert loaded.units2units(units)[0]["units"] == s2s.units2units(units)[0]["units"]
