"""Fisher-CS preparation on a miniature LDC2010S01 / LDC2010T04 / fisher-callhome-corpus /
Weller et al. split fixture."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet_csst.data.corpora import fisher_cs

from .conftest import (
    REPO,
    assert_sorted_files,
    assert_valid,
    keys,
    read_kv,
    run_data_sh,
    tone,
)

C1, C2, C3, C4 = ("20051009_182032_217_fsp", "20051010_212418_225_fsp",
                  "20051017_215732_274_fsp", "20051023_232057_325_fsp")
C9 = "20051101_100000_999_fsp"  # in the mapping, but neither transcript nor audio
REC_SECONDS = 20.0

# The header and metadata lines of an LDC2010T04 .tdf file.
TDF_HEADER = ("file;unicode\tchannel;int\tstart;float\tend;float\tspeaker;unicode\t"
              "speakerType;unicode\tspeakerDialect;unicode\ttranscript;unicode\tsection;int\t"
              "turn;int\tsegment;int\tsectionType;unicode\tsuType;unicode")
TDF_META = [";;MM sectionTypes\t[u'report', None]", ";;MM sectionBoundaries\t[0.0, 9999999.0]"]
EN = '<foreign lang="English">'

# (channel, start, end, transcript) per call; tdf line n is entry n-1
TDF = {
    C1: [(0, 0.5, 2.25, "hola ¿cómo estás?"),
         (1, 2.5, 4.0, f"bien y tú {EN} the weekend </foreign> fue bueno"),
         (0, 4.2, 5.0, "(( ))"),
         (0, 5.1, 6.0, "<laugh> sí claro"),
         (1, 6.5, 8.0, f"{EN} okay </foreign> vale"),
         (0, 8.1, 9.0, "[noise]"),
         (1, 9.5, 11.0, "pues nada"),
         (0, 11.5, 13.0, f"{EN} so </foreign> entonces")],
    C2: [(0, 1.0, 2.5, "buenos días"),
         (1, 3.0, 4.5, f"{EN} meeting </foreign> mañana")],
    C3: [(1, 0.25, 1.75, "vale pues")],
    C4: [(0, 2.0, 3.5, f"{EN} right </foreign> claro que sí"),
         (1, 19.0, 21.0, "adiós")],  # ends after the 20 s recording
}
# fisher-callhome-corpus: mapping lines and English references (line k = mapping line k)
MAPPING = {
    "train": [(C1, "1"), (C1, "2"), (C1, "3_4"), (C1, "5"), (C1, "6"), (C1, "7"), (C1, "8"),
              (C9, "1"), (C1, "40")],
    "dev": [(C2, "1"), (C2, "2")],
    "dev2": [(C3, "1")],
    "test": [(C4, "1"), (C4, "2")],
}
EN_TRAIN = ["Hi, how are you?", "Good and you, the weekend was good.", "Yes, of course.",
            "Okay, fine.", "(noise)", "", "So, then.", "Lost call.", "Missing line."]
EN_EVAL = {"dev": ["Good morning.", "Meeting tomorrow."], "dev2": ["Okay then."],
           "test": ["Right, of course.", "Bye."]}
# Weller et al.: (Fisher split, 0-based line) -> (their split, cs_type)
LABELS = {
    ("train", 0): ("train", "mono"), ("train", 1): ("train", "cs"),
    ("train", 2): ("train", "mono"), ("train", 3): ("train", "cs"),
    ("train", 4): ("train", "mono"), ("train", 5): ("train", "mono"),
    ("train", 6): ("dev", "cs"), ("train", 7): ("train", "mono"), ("train", 8): ("train", "mono"),
    ("dev", 0): ("test", "mono"), ("dev", 1): ("test", "cs"),
    ("dev2", 0): ("test", "cs"),  # no <foreign> tag: the split list wins
    ("test", 0): ("test", "cs"), ("test", 1): ("test", "mono"),
}


def write_sph(path: Path, seconds: float = REC_SECONDS, subtype: str = "ULAW") -> np.ndarray:
    """A 2-channel 8 kHz NIST SPHERE file (mu-law, as LDC2010S01 is)."""
    data = tone(seconds, 8000, channels=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), data, 8000, format="NIST", subtype=subtype)
    return data


def write_shorten_sph(path: Path) -> None:
    """A SPHERE header announcing shorten compression (libsndfile cannot decode it)."""
    head = (b"NIST_1A\n   1024\nchannel_count -i 2\nsample_count -i 160000\n"
            b"sample_rate -i 8000\nsample_n_bytes -i 1\nsample_byte_format -s1 1\n"
            b"sample_coding -s26 ulaw,embedded-shorten-v2.00\nend_head\n")
    path.write_bytes(head.ljust(1024, b" ") + b"ajkg" + bytes(range(256)) * 16)


def write_mapping_csv(path: Path, labels=LABELS) -> None:
    """fisher_mapping.csv as make_mapping_files.py writes it (pandas to_csv with index)."""
    rows = [",file,file_line_num,split,audio_file,audio_file_line_num,cs_type"]
    i = 0
    for split in ("dev", "dev2", "test", "train"):
        for idx, (call, ids) in enumerate(MAPPING[split]):
            their_split, cs_type = labels[(split, idx)]
            rows.append(f"{i},fisher_{split},{idx},{their_split},{call},{ids},{cs_type}")
            i += 1
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture
def corpus(tmp_path):
    speech = tmp_path / "LDC2010S01"
    for call in (C1, C2, C3, C4):
        write_sph(speech / "data" / "speech" / f"{call}.sph")
    transcripts = tmp_path / "LDC2010T04"
    tdir = transcripts / "fisher_spa_tr" / "data" / "transcripts"
    tdir.mkdir(parents=True)
    for call, rows in TDF.items():
        lines = [TDF_HEADER, *TDF_META]
        for turn, (ch, start, end, text) in enumerate(rows):
            spk = "Audrey" if ch == 0 else "Pedro"
            lines.append(f"{call}.sph\t{ch}\t{start}\t{end}\t{spk}\tfemale\tnative\t{text}\t"
                         f"0\t{turn}\t-1\t\t")
        (tdir / f"{call}.tdf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fc = tmp_path / "fisher-callhome-corpus"
    (fc / "mapping").mkdir(parents=True)
    (fc / "corpus" / "ldc").mkdir(parents=True)
    for split, rows in MAPPING.items():
        (fc / "mapping" / f"fisher_{split}").write_text("".join(f"{c} {i}\n" for c, i in rows))
    (fc / "corpus" / "ldc" / "fisher_train.en").write_text("\n".join(EN_TRAIN) + "\n")
    for split, lines in EN_EVAL.items():
        for ref in range(4):
            text = "\n".join(f"{ln} (ref {ref})" if ref else ln for ln in lines) + "\n"
            (fc / "corpus" / "ldc" / f"fisher_{split}.en.{ref}").write_text(text)
    splits = tmp_path / "ml-code-switched-speech-translation" / "mapping_files"
    splits.mkdir(parents=True)
    write_mapping_csv(splits / "fisher_mapping.csv")
    return {"speech": speech, "transcripts": transcripts, "translations": fc,
            "splits": splits / "fisher_mapping.csv"}


def args_for(c, out, cs_splits=None, *extra):
    return ["--speech", str(c["speech"]), "--transcripts", str(c["transcripts"]),
            "--translations", str(c["translations"]),
            "--cs_splits", str(cs_splits or c["splits"]), "--out_dir", str(out), *extra]


@pytest.fixture
def no_sph2pipe(monkeypatch, tmp_path):
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_fisher_dirs_segments_and_splits(corpus, tmp_path, capsys, no_sph2pipe):
    out = tmp_path / "data"
    assert fisher_cs.main(args_for(corpus, out)) == 0
    log = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["train", "dev", "dev2", "test", "train_cs", "dev_cs", "train_mono", "test_cs",
         "test_mono"])
    for d in out.iterdir():
        assert_sorted_files(d)
        assert_valid(d)

    train = out / "train"
    assert keys(train / "utt2spk") == [
        f"{C1}-A-000050-000225", f"{C1}-A-000420-000600", f"{C1}-A-001150-001300",
        f"{C1}-B-000250-000400", f"{C1}-B-000650-000800"]
    segs = read_kv(train / "segments")
    assert segs[f"{C1}-A-000420-000600"] == f"{C1}-A 4.200 6.000"  # lines 3_4 joined
    text = read_kv(train / "text.es")
    assert text[f"{C1}-A-000420-000600"] == "sí claro"  # (( )) and <laugh> removed
    assert text[f"{C1}-A-000050-000225"] == "hola ¿cómo estás?"
    assert text[f"{C1}-B-000250-000400"] == "bien y tú the weekend fue bueno"
    assert read_kv(train / "text.en")[f"{C1}-B-000250-000400"] == \
        "Good and you, the weekend was good."
    lang = read_kv(train / "utt2lang")
    assert lang[f"{C1}-B-000250-000400"] == "cs" and lang[f"{C1}-A-000050-000225"] == "es"
    assert read_kv(train / "utt2spk")[f"{C1}-B-000650-000800"] == f"{C1}-B"
    assert read_kv(train / "utt2dur")[f"{C1}-A-000420-000600"] == "1.800"
    wav = read_kv(train / "wav.scp")
    assert sorted(wav) == [f"{C1}-A", f"{C1}-B"]
    sph = corpus["speech"] / "data" / "speech" / f"{C1}.sph"
    assert wav[f"{C1}-B"].endswith(f"-m espnet_csst.data.corpora.fisher_cs --extract_channel "
                                   f"{sph} 2 |")

    # Weller et al. subsets: membership from fisher_mapping.csv
    assert keys(out / "train_cs" / "utt2spk") == [f"{C1}-B-000250-000400", f"{C1}-B-000650-000800"]
    assert keys(out / "dev_cs" / "utt2spk") == [f"{C1}-A-001150-001300"]
    assert keys(out / "train_mono" / "utt2spk") == [f"{C1}-A-000050-000225",
                                                    f"{C1}-A-000420-000600"]
    assert keys(out / "test_cs" / "utt2spk") == [
        f"{C2}-B-000300-000450", f"{C3}-B-000025-000175", f"{C4}-A-000200-000350"]
    assert keys(out / "test_mono" / "utt2spk") == [f"{C2}-A-000100-000250",
                                                   f"{C4}-B-001900-002000"]
    assert read_kv(out / "dev_cs" / "text.cs") == {f"{C1}-A-001150-001300": "so entonces"}
    assert not (out / "dev_cs" / "text.es").exists()
    assert set(read_kv(out / "test_cs" / "utt2lang").values()) == {"cs"}
    assert read_kv(out / "test_mono" / "text.es")[f"{C2}-A-000100-000250"] == "buenos días"
    assert set(read_kv(out / "test_mono" / "utt2lang").values()) == {"es"}
    # first of the four references; the segment past the recording end is cut at 20 s
    assert read_kv(out / "test" / "text.en") == {f"{C4}-A-000200-000350": "Right, of course.",
                                                 f"{C4}-B-001900-002000": "Bye."}
    assert read_kv(out / "test" / "segments")[f"{C4}-B-001900-002000"] == f"{C4}-B 19.000 20.000"

    for reason, where in [("empty transcript after removing markup", "fisher_train:5"),
                          ("empty translation", "fisher_train:6"),
                          ("no .tdf transcript for the call", C9),
                          ("mapping names a tdf line that is missing or unparsable",
                           "fisher_train:9")]:
        assert f"dropped 1 ({reason}), e.g. {where}" in log
    assert "train: 5 utterances" in log and "(4 dropped)" in log
    assert "1 segments ended after their recording" in log
    assert "1 utterances are labelled differently" in log


def test_fisher_wav_scp_command_extracts_the_channel(corpus, tmp_path, no_sph2pipe):
    out = tmp_path / "data"
    assert fisher_cs.main(args_for(corpus, out)) == 0
    cmd = read_kv(out / "dev" / "wav.scp")[f"{C2}-B"]
    assert cmd.endswith(" |")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    wav = subprocess.run(cmd[:-1], shell=True, env=env, capture_output=True, check=True).stdout
    tmp_wav = tmp_path / "b.wav"
    tmp_wav.write_bytes(wav)
    got, rate = soundfile.read(str(tmp_wav), dtype="int16")
    ref, _ = soundfile.read(str(corpus["speech"] / "data" / "speech" / f"{C2}.sph"),
                            dtype="int16")
    assert rate == 8000 and got.ndim == 1
    np.testing.assert_array_equal(got, ref[:, 1])


def test_fisher_index_lists_give_the_same_split(corpus, tmp_path, no_sph2pipe):
    """Weller et al.'s intermediate cs_corpus/ lists + train_vs_dev_cs.txt."""
    root = tmp_path / "weller_lists"
    (root / "cs_corpus").mkdir(parents=True)
    for split in ("train", "dev", "dev2", "test"):
        for kind in ("cs", "mono"):
            idx = [i for (s, i), (_, k) in sorted(LABELS.items()) if s == split and k == kind]
            (root / "cs_corpus" / f"fisher_{split}_{kind}.es").write_text(
                "".join(f"{i}\n" for i in idx))
    # CS train lines are 1, 3, 6 (in order); position 2 (line 6) is their CS dev
    (root / "train_vs_dev_cs.txt").write_text("2\n")
    a, b = tmp_path / "a", tmp_path / "b"
    assert fisher_cs.main(args_for(corpus, a)) == 0
    assert fisher_cs.main(args_for(corpus, b, root)) == 0
    for name in ("train_cs", "dev_cs", "train_mono", "test_cs", "test_mono"):
        for f in ("utt2spk", "text.en", "segments"):
            assert (a / name / f).read_text() == (b / name / f).read_text()


def test_fisher_derive_labels_from_tags(corpus, tmp_path, no_sph2pipe):
    out = tmp_path / "data"
    assert fisher_cs.main(args_for(corpus, out, "derive")) == 0
    assert not (out / "dev_cs").exists()  # no held-out CS dev without the split list
    assert keys(out / "train_cs" / "utt2spk") == [
        f"{C1}-A-001150-001300", f"{C1}-B-000250-000400", f"{C1}-B-000650-000800"]
    assert f"{C3}-B-000025-000175" in keys(out / "test_mono" / "utt2spk")  # no tag: mono


def test_fisher_mapping_mismatch_is_an_error(corpus, tmp_path, capsys, no_sph2pipe):
    text = corpus["splits"].read_text().replace(f"{C1},3_4,", f"{C1},3,")
    corpus["splits"].write_text(text)
    assert fisher_cs.main(args_for(corpus, tmp_path / "data")) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "line 2 of fisher_train is 20051009_182032_217_fsp 3 there but " \
           "20051009_182032_217_fsp 3_4 in mapping/" in err


def test_fisher_translation_count_mismatch_is_an_error(corpus, tmp_path, capsys, no_sph2pipe):
    ref = corpus["translations"] / "corpus" / "ldc" / "fisher_dev.en.0"
    ref.write_text("only one line\n")
    assert fisher_cs.main(args_for(corpus, tmp_path / "data")) == 1
    assert "fisher_dev.en.0 has 1 lines but mapping/fisher_dev has 2" in capsys.readouterr().err


def test_fisher_shorten_sph_without_sph2pipe_fails_clearly(corpus, tmp_path, capsys,
                                                          no_sph2pipe):
    write_shorten_sph(corpus["speech"] / "data" / "speech" / f"{C3}.sph")
    out = tmp_path / "data"
    assert fisher_cs.main(args_for(corpus, out)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("fisher_cs: error: 1 of 4 .sph files")
    assert "'ulaw,embedded-shorten-v2.00'" in err[0] and "cannot decode" in err[0]
    assert "install sph2pipe and put it on PATH" in err[0] and "openslr.org/resources/3" in err[0]
    assert not out.exists()


def test_fisher_shorten_sph_uses_sph2pipe_from_path(corpus, tmp_path, monkeypatch):
    write_shorten_sph(corpus["speech"] / "data" / "speech" / f"{C3}.sph")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "sph2pipe"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    out = tmp_path / "data"
    assert fisher_cs.main(args_for(corpus, out)) == 0
    sph = corpus["speech"] / "data" / "speech" / f"{C3}.sph"
    assert read_kv(out / "dev2" / "wav.scp") == {f"{C3}-B": f"{fake} -f wav -p -c 2 {sph} |"}
    assert read_kv(out / "train" / "wav.scp")[f"{C1}-A"].startswith(f"{fake} -f wav -p -c 1 ")


def test_fisher_data_sh_end_to_end(corpus, tmp_path):
    work = tmp_path / "recipe"
    res = run_data_sh("fisher_cs/csst1", work, {
        "FISHER_SPANISH_SPEECH": str(corpus["speech"]),
        "FISHER_SPANISH_TRANSCRIPTS": str(corpus["transcripts"]),
        "FISHER_CALLHOME_TRANSLATIONS": str(corpus["translations"]),
        "FISHER_CS_SPLITS": str(corpus["splits"].parent.parent),  # the release checkout
    })
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(p.name for p in (work / "data").iterdir()) == sorted(
        ["train", "dev", "dev2", "test", "train_cs", "dev_cs", "train_mono", "test_cs",
         "test_mono"])
    assert "data/test_cs: 3 utterances" in res.stdout
    assert not list(work.glob(".data_tmp*"))
    for d in (work / "data").iterdir():
        assert_valid(d)


def test_fisher_data_sh_missing_db_var(corpus, tmp_path):
    work = tmp_path / "recipe"
    res = run_data_sh("fisher_cs/csst1", work, {
        "FISHER_SPANISH_SPEECH": str(corpus["speech"]),
        "FISHER_SPANISH_TRANSCRIPTS": str(corpus["transcripts"]),
        "FISHER_CALLHOME_TRANSLATIONS": str(corpus["translations"]),
        "FISHER_CS_SPLITS": "",
    })
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "data.sh: error: FISHER_CS_SPLITS is empty in db.sh; set it to fisher_mapping.csv")
    assert not (work / "data").exists()
