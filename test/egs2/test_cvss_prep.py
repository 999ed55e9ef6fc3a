"""CVSS preparation on a miniature CVSS-C/T + Common Voice 4 (+ CoVoST 2) fixture."""

from __future__ import annotations

import pytest
import soundfile

from espnet_csst.data.corpora import cvss
from espnet_csst.data.corpora._common import speaker_id

from .conftest import (
    assert_sorted_files,
    assert_valid,
    make_common_voice,
    read_kv,
    run_data_sh,
    tone,
    write_tsv,
)

SPK_A, SPK_B = "a" * 128, "b" * 128


def write_cvss(root, split, rows, wav_seconds):
    """``<root>/<split>.tsv`` (no header: clip, normalized translation) and the target
    speech ``<root>/<split>/<clip>.wav`` (24 kHz mono WAV, as released)."""
    write_tsv(root / f"{split}.tsv", None, rows)
    for clip, seconds in wav_seconds.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        soundfile.write(str(root / split / f"{clip}.wav"), tone(seconds, 24000), 24000)


@pytest.fixture
def corpus(tmp_path):
    cv_root = tmp_path / "cv"
    make_common_voice(cv_root, "es", [
        (SPK_A, "common_voice_es_1.mp3", "Hola, ¿qué tal?", 1.0),
        (SPK_A, "common_voice_es_2.mp3", "Tengo 2 gatos.", 1.4),
        (SPK_A, "common_voice_es_3.mp3", "Falta el destino.", 1.0),      # no target wav
        (None, "common_voice_es_4.mp3", "No validado.", 1.0),           # not in validated
        (SPK_B, "common_voice_es_5.mp3", "Buenas noches.", 1.1),
        (SPK_B, "common_voice_es_6.mp3", "Hasta luego.", 0.9),
    ])
    cvss_root = tmp_path / "cvss"
    for version in ("c", "t"):
        d = cvss_root / f"cvss_{version}" / "es-en"
        write_cvss(d, "train", [
            ["common_voice_es_1.mp3", "hello how are you"],
            ["common_voice_es_2.mp3", "i have two cats"],
            ["common_voice_es_3.mp3", "the target is missing"],
            ["common_voice_es_4.mp3", "not validated"],
        ], {"common_voice_es_1.mp3": 1.2, "common_voice_es_2.mp3": 1.6,
            "common_voice_es_4.mp3": 1.0})
        write_cvss(d, "dev", [["common_voice_es_5.mp3", "good night"]],
                   {"common_voice_es_5.mp3": 0.8})
        write_cvss(d, "test", [["common_voice_es_6.mp3", "see you later"]],
                   {"common_voice_es_6.mp3": 0.7})
    covost = tmp_path / "covost"
    write_tsv(covost / "covost_v2.es_en.tsv",
              ["path", "sentence", "translation", "client_id", "split"],
              [["common_voice_es_1.mp3", "Hola, ¿qué tal?", "Hello, how are you?", SPK_A, "train"],
               ["common_voice_es_2.mp3", "Tengo 2 gatos.", "I have 2 cats.", SPK_A, "train"],
               ["common_voice_es_5.mp3", "Buenas noches.", "Good night.", SPK_B, "dev"],
               ["common_voice_es_6.mp3", "Hasta luego.", "See you later.", SPK_B, "test"]])
    return cvss_root, cv_root, covost


def test_cvss_s2st_dirs(corpus, tmp_path, capsys):
    cvss_root, cv_root, _ = corpus
    out = tmp_path / "data"
    assert cvss.main(["--cvss_root", str(cvss_root), "--version", "c", "--cv_root", str(cv_root),
                      "--src_lang", "es", "--out_dir", str(out)]) == 0
    log = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == \
        ["dev_cvss_c_es_en", "test_cvss_c_es_en", "train_cvss_c_es_en"]
    train = out / "train_cvss_c_es_en"
    assert sorted(f.name for f in train.iterdir()) == sorted(
        ["spk2utt", "text.en", "text.es", "utt2dur.en", "utt2dur.es", "utt2lang", "utt2spk",
         "wav.scp.en", "wav.scp.es"])
    a = speaker_id(SPK_A)
    u1, u2 = f"{a}-common_voice_es_1", f"{a}-common_voice_es_2"
    assert read_kv(train / "text.es") == {u1: "Hola, ¿qué tal?", u2: "Tengo 2 gatos."}
    assert read_kv(train / "text.en") == {u1: "hello how are you", u2: "i have two cats"}
    assert read_kv(train / "wav.scp.es")[u2] == \
        str(cv_root / "es" / "clips" / "common_voice_es_2.mp3")
    assert read_kv(train / "wav.scp.en")[u2] == \
        str(cvss_root / "cvss_c" / "es-en" / "train" / "common_voice_es_2.mp3.wav")
    assert float(read_kv(train / "utt2dur.en")[u2]) == pytest.approx(1.6, abs=0.01)
    assert float(read_kv(train / "utt2dur.es")[u2]) == pytest.approx(1.4, abs=0.05)
    assert set(read_kv(train / "utt2lang").values()) == {"es"}
    b = speaker_id(SPK_B)
    assert read_kv(out / "dev_cvss_c_es_en" / "text.en") == {f"{b}-common_voice_es_5": "good night"}
    for d in out.iterdir():
        assert_sorted_files(d)
        assert_valid(d)
    assert "train_cvss_c_es_en: 2 utterances" in log
    assert "dropped 1 (target speech missing or empty in train/), e.g. common_voice_es_3.mp3" in log
    assert "dropped 1 (source clip not in validated.tsv (or CoVoST TSV)), " \
           "e.g. common_voice_es_4.mp3" in log


def test_cvss_covost_translations_and_version_t(corpus, tmp_path):
    cvss_root, cv_root, covost = corpus
    out = tmp_path / "data"
    assert cvss.main(["--cvss_root", str(cvss_root), "--version", "t", "--cv_root", str(cv_root),
                      "--src_lang", "es", "--covost_dir", str(covost), "--tgt_text", "covost",
                      "--out_dir", str(out)]) == 0
    train = out / "train_cvss_t_es_en"
    a = speaker_id(SPK_A)
    assert read_kv(train / "text.en")[f"{a}-common_voice_es_2"] == "I have 2 cats."
    assert "cvss_t" in read_kv(train / "wav.scp.en")[f"{a}-common_voice_es_2"]
    b = speaker_id(SPK_B)
    assert read_kv(out / "test_cvss_t_es_en" / "text.en") == \
        {f"{b}-common_voice_es_6": "See you later."}


def test_cvss_split_with_nothing_left_is_an_error(corpus, tmp_path, capsys):
    cvss_root, cv_root, _ = corpus
    write_tsv(cvss_root / "cvss_c" / "es-en" / "dev.tsv", None,
              [["common_voice_es_404.mp3", "not in common voice"]])
    out = tmp_path / "data"
    assert cvss.main(["--cvss_root", str(cvss_root), "--cv_root", str(cv_root),
                      "--src_lang", "es", "--out_dir", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("cvss: error: dev_cvss_c_es_en: no utterances left (dropped source clip "
                   "not in validated.tsv (or CoVoST TSV): 1); check that the corpus paths "
                   "point at the right releases")
    assert not out.exists()  # no split is written unless all can be


def test_cvss_errors(corpus, tmp_path, capsys):
    cvss_root, cv_root, _ = corpus
    base = ["--cv_root", str(cv_root), "--out_dir", str(tmp_path / "data")]
    assert cvss.main(base + ["--cvss_root", str(cvss_root), "--src_lang", "xx"]) == 1
    assert "CVSS has no xx-en pair" in capsys.readouterr().err
    assert cvss.main(base + ["--cvss_root", str(cvss_root), "--src_lang", "fr"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cvss: error: no CVSS-C fr-en files") and "cvss_c_fr_en_v1.0.tar.gz" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "data").exists()


def test_cvss_data_sh_end_to_end(corpus, tmp_path):
    cvss_root, cv_root, covost = corpus
    work = tmp_path / "recipe"
    res = run_data_sh("cvss/s2st_lm1", work,
                      {"CVSS": str(cvss_root), "COMMONVOICE": str(cv_root), "COVOST2": str(covost)},
                      "--src_lang", "es", "--version", "t")
    assert res.returncode == 0, res.stdout + res.stderr
    names = sorted(p.name for p in (work / "data").iterdir())
    assert names == ["dev_cvss_t_es_en", "test_cvss_t_es_en", "train_cvss_t_es_en"]
    assert "data/train_cvss_t_es_en: 2 utterances" in res.stdout
    for d in (work / "data").iterdir():
        assert_valid(d)


def test_cvss_data_sh_missing_db_var(corpus, tmp_path):
    _, cv_root, _ = corpus
    work = tmp_path / "recipe"
    res = run_data_sh("cvss/s2st_lm1", work, {"CVSS": "", "COMMONVOICE": str(cv_root),
                                              "COVOST2": ""})
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(
        "data.sh: error: CVSS is empty in db.sh; set it to the directory holding es-en/")
    assert not (work / "data").exists()


def test_cvss_layouts(tmp_path):
    """<CVSS>/<src>-en (the release tarball extracted there) is found first."""
    for sub in ("es-en", "cvss_c/es-en", "cvss-t/es-en"):
        write_tsv(tmp_path / sub / "dev.tsv", None, [["common_voice_es_1.mp3", "hello"]])
    assert cvss.find_cvss_dir(tmp_path, "c", "es") == tmp_path / "es-en"
    (tmp_path / "es-en" / "dev.tsv").unlink()
    assert cvss.find_cvss_dir(tmp_path, "c", "es") == tmp_path / "cvss_c" / "es-en"
    assert cvss.find_cvss_dir(tmp_path, "t", "es") == tmp_path / "cvss-t" / "es-en"
