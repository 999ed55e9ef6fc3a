"""CoVoST 2 preparation on a miniature Common Voice 4 + covost_v2.es_en.tsv fixture."""

from __future__ import annotations

import pytest

from espnet_csst.data.corpora import covost2
from espnet_csst.data.corpora._common import speaker_id

from .conftest import (
    assert_sorted_files,
    assert_valid,
    make_common_voice,
    read_kv,
    run_data_sh,
    write_tsv,
)

# The released covost_v2.<src>_<tgt>.tsv: header, tab separated, no quoting.
COVOST_HEADER = ["path", "sentence", "translation", "client_id", "split"]
SPK_A, SPK_B, SPK_C = "a" * 128, "b1" * 64, "c2" * 64  # CV client_ids are sha512 hex


@pytest.fixture
def corpus(tmp_path):
    cv_root = tmp_path / "cv-corpus-4-2019-12-10"
    make_common_voice(cv_root, "es", [
        (SPK_A, "common_voice_es_100.mp3", "Hola mundo.", 1.0),
        # a field starting with a double quote: default CSV quoting would swallow lines
        (SPK_A, "common_voice_es_101.mp3", '"Hola", dijo él.', 1.5),
        (SPK_C, "common_voice_es_102.mp3", "Sí.", 0.8),
        (SPK_C, "common_voice_es_103.mp3", "No tengo audio.", None),   # clip missing
        (SPK_C, "common_voice_es_104.mp3", "Sin traducción.", 1.0),
        (SPK_C, "common_voice_es_105.mp3", "", 1.0),                   # empty sentence
        (None, "common_voice_es_106.mp3", "No validado.", 1.0),        # not in validated.tsv
        (SPK_C, "common_voice_es_107.mp3", "Archivo vacío.", 0),       # 0-byte clip
        (SPK_B, "common_voice_es_200.mp3", "Buenos días.", 1.2),
        (SPK_B, "common_voice_es_201.mp3", "Adiós.", 0.9),
        (SPK_B, "common_voice_es_300.mp3", "Otra división.", 1.0),
    ])
    covost_dir = tmp_path / "covost"
    write_tsv(covost_dir / "covost_v2.es_en.tsv", COVOST_HEADER, [
        ["common_voice_es_100.mp3", "Hola mundo.", "Hello world.", SPK_A, "train"],
        ["common_voice_es_101.mp3", '"Hola", dijo él.', '"Hello," he said.', SPK_A, "train"],
        # backslash escapes as the official loader reads them (escapechar="\\")
        ["common_voice_es_102.mp3", "Sí.", 'She said \\"yes\\".', SPK_C, "train_covost"],
        ["common_voice_es_103.mp3", "No tengo audio.", "I have no audio.", SPK_C, "train"],
        ["common_voice_es_104.mp3", "Sin traducción.", "", SPK_C, "train"],
        ["common_voice_es_105.mp3", "", "Empty.", SPK_C, "train"],
        ["common_voice_es_106.mp3", "No validado.", "Not validated.", SPK_C, "train"],
        ["common_voice_es_107.mp3", "Archivo vacío.", "Empty file.", SPK_C, "train"],
        ["common_voice_es_200.mp3", "Buenos días.", "Good morning.", SPK_B, "dev"],
        ["common_voice_es_201.mp3", "Adiós.", "Goodbye.", SPK_B, "test"],
        ["common_voice_es_300.mp3", "Otra división.", "Another split.", SPK_B, "other"],
    ])
    return cv_root, covost_dir


def prep(corpus, out):
    cv_root, covost_dir = corpus
    return covost2.main(["--cv_root", str(cv_root), "--covost_dir", str(covost_dir),
                         "--src_lang", "es", "--tgt_lang", "en", "--out_dir", str(out)])


def test_covost2_dirs_content_and_drops(corpus, tmp_path, capsys):
    out = tmp_path / "data"
    assert prep(corpus, out) == 0
    log = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["dev_es_en", "test_es_en", "train_es_en"]

    train = out / "train_es_en"
    a, c = speaker_id(SPK_A), speaker_id(SPK_C)
    assert len(a) == 16 and a.isalnum()
    u100, u101 = f"{a}-common_voice_es_100", f"{a}-common_voice_es_101"
    u102 = f"{c}-common_voice_es_102"
    text_es, text_en = read_kv(train / "text.es"), read_kv(train / "text.en")
    assert list(text_es) == sorted([u100, u101, u102])  # train + train_covost, nothing else
    assert text_es[u101] == '"Hola", dijo él.'
    assert text_en[u101] == '"Hello," he said.'
    assert text_en[u102] == 'She said "yes".'
    assert text_en[u100] == "Hello world."
    assert read_kv(train / "utt2spk")[u102] == c
    assert read_kv(train / "spk2utt")[a] == f"{u100} {u101}"
    assert set(read_kv(train / "utt2lang").values()) == {"es"}
    assert read_kv(train / "wav.scp")[u100] == \
        str(corpus[0] / "es" / "clips" / "common_voice_es_100.mp3")
    durs = {k: float(v) for k, v in read_kv(train / "utt2dur").items()}
    assert durs[u100] == pytest.approx(1.0, abs=0.05)
    assert durs[u101] == pytest.approx(1.5, abs=0.05)

    b = speaker_id(SPK_B)
    assert read_kv(out / "dev_es_en" / "text.en") == \
        {f"{b}-common_voice_es_200": "Good morning."}
    assert read_kv(out / "test_es_en" / "text.es") == {f"{b}-common_voice_es_201": "Adiós."}
    for d in out.iterdir():
        assert_sorted_files(d)
        assert_valid(d)

    # every dropped row is counted with its reason
    assert "train_es_en: 3 utterances" in log and "(5 dropped)" in log
    for reason, clip in [("clip missing from clips/", "103"), ("empty translation", "104"),
                         ("empty sentence", "105"), ("not in Common Voice validated.tsv", "106"),
                         ("empty clip file (0 bytes)", "107")]:
        assert f"dropped 1 ({reason}), e.g. common_voice_es_{clip}.mp3" in log
    assert "ignored 1 rows with split label 'other'" in log


def test_covost2_without_mp3_support_fails_with_one_line(corpus, tmp_path, capsys, monkeypatch):
    import soundfile

    formats = {k: v for k, v in soundfile.available_formats().items() if k != "MP3"}
    monkeypatch.setattr(soundfile, "available_formats", lambda: formats)
    monkeypatch.setattr(soundfile, "__libsndfile_version__", "1.0.31")
    out = tmp_path / "data"
    assert prep(corpus, out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("covost2: error:")
    assert "libsndfile 1.0.31" in err[0] and "MP3" in err[0] and "pip install" in err[0]
    assert not out.exists()


def test_covost2_clear_errors(corpus, tmp_path, capsys):
    cv_root, covost_dir = corpus
    args = ["--cv_root", str(cv_root), "--covost_dir", str(covost_dir), "--out_dir",
            str(tmp_path / "data")]
    assert covost2.main(args + ["--src_lang", "xx", "--tgt_lang", "en"]) == 1
    assert "CoVoST 2 has no xx->en direction" in capsys.readouterr().err
    assert covost2.main(args + ["--src_lang", "fr", "--tgt_lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "covost_v2.fr_en.tsv not found" in err and "dl.fbaipublicfiles.com" in err
    # a TSV that is not the CoVoST one
    write_tsv(covost_dir / "covost_v2.es_en.tsv", ["path", "text"], [["a.mp3", "x"]])
    assert covost2.main(args + ["--src_lang", "es", "--tgt_lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "missing column(s) translation, split" in err
    assert not (tmp_path / "data").exists()


def test_covost2_region_codes_map_to_iso(tmp_path):
    assert covost2.split_name("train", "zh-CN", "en") == "train_zh_en"
    assert covost2.split_name("dev", "en", "sv-SE") == "dev_en_sv"


def test_covost2_data_sh_end_to_end(corpus, tmp_path):
    cv_root, covost_dir = corpus
    work = tmp_path / "recipe"
    res = run_data_sh("covost2/csst1", work, {"COMMONVOICE": str(cv_root),
                                              "COVOST2": str(covost_dir)},
                      "--src_lang", "es", "--tgt_lang", "en")
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(p.name for p in (work / "data").iterdir()) == \
        ["dev_es_en", "test_es_en", "train_es_en"]
    assert not list(work.glob(".data_tmp*"))
    assert len(read_kv(work / "data" / "train_es_en" / "utt2spk")) == 3
    assert "data/train_es_en: 3 utterances" in res.stdout
    for d in (work / "data").iterdir():
        assert_valid(d)


@pytest.mark.parametrize("db, expect", [
    ({"COMMONVOICE": "{cv}", "COVOST2": ""},
     ["data.sh: error: COVOST2 is empty in db.sh; set it to the directory with "
      "covost_v2.es_en.tsv"]),
    ({"COMMONVOICE": "/nonexistent/cv", "COVOST2": "{covost}"},
     ["data.sh: error: COMMONVOICE='/nonexistent/cv' (db.sh) does not exist; set it to",
      "Common Voice 4 release of 'es'"]),
])
def test_covost2_data_sh_db_errors(corpus, tmp_path, db, expect):
    cv_root, covost_dir = corpus
    db = {k: v.format(cv=cv_root, covost=covost_dir) for k, v in db.items()}
    work = tmp_path / "recipe"
    res = run_data_sh("covost2/csst1", work, db)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(expect[0])
    assert all(e in lines[0] for e in expect[1:])
    assert not (work / "data").exists()
    assert not list(work.glob(".data_tmp*"))
