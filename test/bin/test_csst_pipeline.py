"""The recipe's CSST stages end to end on the tiny corpus, at toy sizes:

task dirs (make_task_dir) -> token list (make_token_list) -> statistics
(csst_train --collect_stats) -> training (csst_train, 2 epochs) -> decoding
(csst_inference) -> packing (pack_csst) -> ESPnet's unpack -> reloading.

The command lines copy egs2/TEMPLATE/csst1/csst.sh stages 2-4, 6-7 and 11.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
import torch

from espnet_csst.bin import copy_data_dir, make_task_dir, make_token_list
from test.csst_utils import LLM_CONFIG, subprocess_env, write_config

pytestmark = pytest.mark.slow  # runs the recipe's command lines on a micro corpus (test/README.md)

MODEL_FILE = "valid.acc.best.pth"


def run(module, *args, cwd):
    r = subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                       env=subprocess_env(), cwd=cwd, timeout=600)
    assert r.returncode == 0, f"{module} failed:\n{r.stderr[-4000:]}"
    return r


def task_data_args(prefix, d):
    return [f"--{prefix}_data_path_and_name_and_type", f"{d}/wav.scp,speech,sound",
            f"--{prefix}_data_path_and_name_and_type", f"{d}/text,text,text",
            f"--{prefix}_data_path_and_name_and_type", f"{d}/task,task,text",
            f"--{prefix}_data_path_and_name_and_type", f"{d}/src_text,src_text,text"]


@pytest.fixture(scope="module")
def pipeline(mini_corpus, tmp_path_factory):
    work = tmp_path_factory.mktemp("csst")
    raw = work / "dump" / "raw"
    # stage 2: absolute audio paths
    for s in ("train_mono_es", "dev_mono", "test_mono_es"):
        assert copy_data_dir.main(["--audio_root", str(mini_corpus), str(mini_corpus / "data" / s), str(raw / s)]) == 0
    # stage 3: task dirs
    mk = ["--languages", "es", "en", "cs", "--task", "st", "--tgt_lang", "en"]
    assert make_task_dir.main([*mk, "--out", str(raw / "stageB_train"), str(raw / "train_mono_es")]) == 0
    assert make_task_dir.main([*mk, "--out", str(raw / "stageB_valid"), str(raw / "dev_mono")]) == 0
    assert make_task_dir.main([*mk, "--min_dur", "0", "--max_dur", "1e9", "--out", str(raw / "test_st"),
                               str(raw / "test_mono_es")]) == 0
    # stage 4: token list
    token_dir = work / "token_list"
    assert make_token_list.main([
        "--token_type", "bpe", "--out", str(token_dir), "--vocab_size", "150", "--languages", "es", "en", "cs",
        "--kaldi_text", str(raw / "stageB_train" / "text"), str(raw / "stageB_train" / "src_text"),
        "--text", str(mini_corpus / "text" / "parallel.es"), str(mini_corpus / "text" / "parallel.en")]) == 0
    # as in the recipe, paths are relative to the recipe directory (here: work), so that the
    # packed model's config refers to files inside the archive
    token_args = ["--token_type", "bpe", "--token_list", "token_list/tokens.txt", "--bpemodel", "token_list/bpe.model"]
    write_config(work / "train_csst.yaml", normalize="global_mvn",
                 llm_conf={"arch": "llama", "config": dict(LLM_CONFIG, max_position_embeddings=256)})
    data = [*task_data_args("train", "dump/raw/stageB_train"), *task_data_args("valid", "dump/raw/stageB_valid")]
    # stage 6: statistics
    run("espnet_csst.bin.csst_train", "--collect_stats", "true", "--config", "train_csst.yaml", *token_args,
        "--normalize", "none", "--num_workers", "0", *data,
        "--train_shape_file", "dump/raw/stageB_train/wav.scp", "--valid_shape_file", "dump/raw/stageB_valid/wav.scp",
        "--output_dir", "stats", cwd=work)
    # stage 7: training
    run("espnet_csst.bin.csst_train", "--config", "train_csst.yaml", "--ngpu", "0", *token_args,
        "--normalize_conf", "stats_file=stats/train/feats_stats.npz", *data,
        "--train_shape_file", "stats/train/speech_shape", "--valid_shape_file", "stats/valid/speech_shape",
        "--resume", "true", "--output_dir", "csst", cwd=work)
    exp = work / "csst"
    # stage 11: decoding, in batches of 4 (6 utterances: a full and a partial batch)
    run("espnet_csst.bin.csst_inference", "--ngpu", "0", "--batch_size", "4", "--maxlen", "20",
        "--csst_train_config", "csst/config.yaml", "--csst_model_file", f"csst/{MODEL_FILE}",
        "--data_path_and_name_and_type", "dump/raw/test_st/wav.scp,speech,sound",
        "--data_path_and_name_and_type", "dump/raw/test_st/task,task,text",
        "--output_dir", "csst/decode_st_test", cwd=work)
    dec = exp / "decode_st_test"
    stats = work / "stats" / "train" / "feats_stats.npz"
    return {"work": work, "raw": raw, "exp": exp, "dec": dec, "stats": stats, "token_dir": token_dir}


def read_kv(path: Path) -> dict:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out


def test_statistics_and_training_outputs(pipeline):
    work, exp = pipeline["work"], pipeline["exp"]
    n_train = len((pipeline["raw"] / "stageB_train" / "wav.scp").read_text().splitlines())
    assert len((work / "stats" / "train" / "speech_shape").read_text().splitlines()) == n_train
    assert pipeline["stats"].is_file()
    assert (exp / MODEL_FILE).exists() and (exp / "config.yaml").is_file()
    assert (exp / "2epoch.pth").exists()
    import yaml

    conf = yaml.safe_load((exp / "config.yaml").read_text())
    assert conf["projector"] == "linear" and conf["llm"] == "hf_causal_lm"
    assert conf["token_list"][0] == "<blank>" and conf["token_list"][-1] == "<sos/eos>"


def test_inference_writes_one_line_per_utterance(pipeline):
    keys = list(read_kv(pipeline["raw"] / "test_st" / "wav.scp"))
    assert len(keys) == 6
    best = pipeline["dec"] / "1best_recog"
    outputs = {name: read_kv(best / name) for name in ("text", "token", "token_int", "score")}
    for name, kv in outputs.items():
        assert sorted(kv) == sorted(keys), name
    for k in keys:
        ids = [int(t) for t in outputs["token_int"][k].split()]
        assert len(ids) <= 20
        assert len(outputs["token"][k].split()) == len(ids)
        assert float(outputs["score"][k]) <= 0.0


@pytest.fixture(scope="module")
def unpacked(pipeline):
    from espnet2.main_funcs.pack_funcs import unpack

    out = pipeline["work"] / "packed" / "csst.zip"
    out.parent.mkdir()
    r = run("espnet_csst.bin.pack_csst", "--model_dir", "csst", "--model_file", MODEL_FILE,
            "--out", "packed/csst.zip", cwd=pipeline["work"])
    assert "bpe.model" in r.stdout and "feats_stats.npz" in r.stdout
    assert out.is_file() and not list(out.parent.glob(".*tmp*"))
    return unpack(out, pipeline["work"] / "unpacked")


def test_pack_unpack_reload(pipeline, unpacked):
    from espnet_csst.tasks.csst import CSSTTask

    assert set(unpacked) == {"csst_train_config", "csst_model_file"}
    root = pipeline["work"] / "unpacked"
    for f in unpacked.values():
        assert Path(f).resolve().is_relative_to(root.resolve())
    import yaml

    conf = yaml.safe_load(Path(unpacked["csst_train_config"]).read_text())
    # the sentencepiece model and the statistics travel with the model
    for path in (conf["bpemodel"], conf["normalize_conf"]["stats_file"]):
        assert Path(path).resolve().is_relative_to(root.resolve()) and Path(path).is_file()

    model, _ = CSSTTask.build_model_from_file(unpacked["csst_train_config"], unpacked["csst_model_file"], "cpu")
    trained = torch.load(pipeline["exp"] / MODEL_FILE, map_location="cpu")
    state = model.state_dict()
    assert set(state) == set(trained)
    for k, v in trained.items():
        assert torch.equal(state[k], v), k


def test_speech2text_from_unpacked_files_decodes_the_same(pipeline, unpacked):
    from espnet_csst.bin.csst_inference import Speech2Text

    s2t = Speech2Text(unpacked["csst_train_config"], unpacked["csst_model_file"], task_spec="st es en", maxlen=20)
    wav = read_kv(pipeline["raw"] / "test_st" / "wav.scp")
    texts = read_kv(pipeline["dec"] / "1best_recog" / "text")
    token_int = read_kv(pipeline["dec"] / "1best_recog" / "token_int")
    scores = read_kv(pipeline["dec"] / "1best_recog" / "score")
    keys = list(wav)
    speeches = [soundfile.read(wav[k], dtype="float32")[0] for k in keys]
    # the same batches as the inference binary (batch_size 4 in key order): the same padding
    hyps = s2t.batch(speeches[:4]) + s2t.batch(speeches[4:])
    for k, nbest in zip(keys, hyps):
        assert nbest[0]["text"] == texts.get(k, ""), k
        assert " ".join(map(str, nbest[0]["token_int"])) == token_int[k], k
        # the score depends on the audio: the same model saw the same input
        assert nbest[0]["score"] == pytest.approx(float(scores[k]), abs=1e-5), k


def test_speech2text_needs_a_task_and_gives_nbest(pipeline, unpacked):
    from espnet_csst.bin.csst_inference import Speech2Text

    wav = read_kv(pipeline["raw"] / "test_st" / "wav.scp")
    speech = soundfile.read(next(iter(wav.values())), dtype="float32")[0]
    with pytest.raises(ValueError, match="task_spec"):
        Speech2Text(unpacked["csst_train_config"], unpacked["csst_model_file"])(speech)
    s2t = Speech2Text(unpacked["csst_train_config"], unpacked["csst_model_file"], task_spec="asr es es",
                      beam_size=2, nbest=2, maxlen=5)
    hyps = s2t(torch.tensor(speech))
    assert len(hyps) == 2 and all(set(h) == {"text", "token", "token_int", "score"} for h in hyps)
    assert hyps[0]["score"] >= hyps[1]["score"]


def test_an_utterance_that_fails_to_decode_is_marked_and_the_others_are_decoded(pipeline, monkeypatch):
    """Issue 8: decoding fails for one utterance (injected into the model's generate); its batch is
    retried one utterance at a time, the failed one gets an empty hypothesis and a line in
    ``failed``, and the other five are decoded exactly as in the normal run."""
    from espnet_csst.bin import csst_inference
    from espnet_csst.models.csst_model import ESPnetCSSTModel

    work, keys = pipeline["work"], list(read_kv(pipeline["raw"] / "test_st" / "wav.scp"))
    assert (pipeline["dec"] / "failed").read_text() == ""  # the normal run: nothing failed
    normal = read_kv(pipeline["dec"] / "1best_recog" / "text")
    poisoned = keys[2]
    bad_len = soundfile.info(read_kv(pipeline["raw"] / "test_st" / "wav.scp")[poisoned]).frames
    original = ESPnetCSSTModel.generate

    def generate(self, speech, speech_lengths, *a, **kw):
        if any(int(n) == bad_len for n in speech_lengths):
            raise RuntimeError("injected failure")
        return original(self, speech, speech_lengths, *a, **kw)

    monkeypatch.setattr(ESPnetCSSTModel, "generate", generate)
    monkeypatch.chdir(work)
    out = work / "csst" / "decode_failing"
    csst_inference.main(["--ngpu", "0", "--batch_size", "4", "--maxlen", "20",
                         "--csst_train_config", "csst/config.yaml", "--csst_model_file", f"csst/{MODEL_FILE}",
                         "--data_path_and_name_and_type", "dump/raw/test_st/wav.scp,speech,sound",
                         "--data_path_and_name_and_type", "dump/raw/test_st/task,task,text",
                         "--output_dir", str(out)])
    failed = read_kv(out / "failed")
    assert list(failed) == [poisoned] and "injected failure" in failed[poisoned]
    text = read_kv(out / "1best_recog" / "text")
    assert sorted(text) == sorted(keys) and text[poisoned] == ""
    assert {k: v for k, v in text.items() if k != poisoned} == {k: v for k, v in normal.items() if k != poisoned}


def test_from_pretrained_dir_zip_and_hub_id_decode_like_the_binary_at_any_rate(pipeline, unpacked, monkeypatch,
                                                                               tmp_path):
    """Issue 9: the packed zip, the zip unzipped (the layout of a model-zoo upload) and a hub repo id
    (snapshot_download stubbed: no network) load with Speech2Text.from_pretrained, and a waveform
    at 16 kHz and the same one at 22.05 kHz decode to the text the inference binary wrote."""
    import zipfile

    import huggingface_hub

    from espnet_csst.bin.csst_inference import Speech2Text
    from espnet_csst.units.audio import resample_to

    zip_path = pipeline["work"] / "packed" / "csst.zip"
    plain = tmp_path / "model_dir"
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(plain)  # no path rewriting: relative paths inside, as on the hub
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo, cache_dir=None: str(plain))
    wav = read_kv(pipeline["raw"] / "test_st" / "wav.scp")
    best = {name: read_kv(pipeline["dec"] / "1best_recog" / name) for name in ("text", "token_int", "score")}
    key = next(iter(wav))
    speech16, fs = soundfile.read(wav[key], dtype="float32")
    assert fs == 16000
    speech22 = resample_to(speech16, 16000, 22050)
    binary_score = float(best["score"][key])
    for source in (zip_path, plain, "someone/csst-mini"):
        s2t = Speech2Text.from_pretrained(source, cache_dir=tmp_path / "cache", task_spec="st es en", maxlen=20)
        assert s2t.fs == 16000
        at16, at22 = s2t(speech16)[0], s2t(speech22, fs=22050)[0]
        for hyp in (at16, at22, s2t.batch([speech22, speech22], fs=22050)[1][0]):
            assert hyp["text"] == best["text"][key], source
            assert " ".join(map(str, hyp["token_int"])) == best["token_int"][key], source
        # the same audio and model; the binary decoded it padded in a batch of 4, hence not exactly
        assert at16["score"] == pytest.approx(binary_score, rel=1e-3)
        # resampled back to 16 kHz: close to the 16 kHz decode; read as if it were 16 kHz: clearly not
        wrong_rate = s2t(speech22)[0]["score"]
        assert abs(at22["score"] - at16["score"]) < 0.2 * abs(wrong_rate - at16["score"]), source
    with pytest.raises(FileNotFoundError, match="meta.yaml"):
        Speech2Text.from_pretrained(tmp_path)


def test_upload_layout_has_a_model_card_and_loads(pipeline, unpacked, monkeypatch, tmp_path):
    """Issue 9: the upload stage's layout (no --repo: nothing leaves the machine) loads with
    from_pretrained; with --repo it goes to huggingface_hub's upload_folder."""
    import huggingface_hub

    from espnet_csst.bin import upload_model
    from espnet_csst.bin.csst_inference import Speech2Text

    zip_path = pipeline["work"] / "packed" / "csst.zip"
    results = tmp_path / "RESULTS.md"
    results.write_text("# RESULTS\n\n| system | BLEU |\n|---|---:|\n| csst_stageC | 1.23 |\n")
    out = tmp_path / "hf_upload"
    calls = []

    class FakeApi:
        def __init__(self, token):
            calls.append(("token", token))

        def create_repo(self, repo, private, exist_ok):
            calls.append(("create", repo))

        def upload_folder(self, folder_path, repo_id, commit_message):
            calls.append(("upload", folder_path, repo_id))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    assert upload_model.main(["--packed", str(zip_path), "--out_dir", str(out), "--results", str(results)]) == 0
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "espnet_csst" in card and "| csst_stageC | 1.23 |" in card
    assert "Speech2Text.from_pretrained(" in card and not calls
    s2t = Speech2Text.from_pretrained(out, cache_dir=tmp_path / "cache", task_spec="st es en", maxlen=20)
    texts = read_kv(pipeline["dec"] / "1best_recog" / "token_int")
    key, path = next(iter(read_kv(pipeline["raw"] / "test_st" / "wav.scp").items()))
    assert " ".join(map(str, s2t(soundfile.read(path, dtype="float32")[0])[0]["token_int"])) == texts[key]

    with pytest.raises(SystemExit, match="huggingface-cli login"):  # a repo but no credentials
        upload_model.main(["--packed", str(zip_path), "--out_dir", str(out), "--repo", "me/csst"])
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    assert upload_model.main(["--packed", str(zip_path), "--out_dir", str(out), "--repo", "me/csst"]) == 0
    assert calls == [("token", "hf_test"), ("create", "me/csst"), ("upload", str(out), "me/csst")]
