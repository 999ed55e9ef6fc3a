"""make_task_dir: task files, filtering with reasons, duplicate ids."""

from pathlib import Path

from espnet_csst.bin import make_task_dir


def write_dir(d: Path, rows):
    """rows: (utt, lang, dur, text.es, text.en); None leaves a file entry out."""
    d.mkdir(parents=True)
    files = {name: [] for name in ("wav.scp", "utt2spk", "utt2lang", "utt2dur", "text.es", "text.en")}
    for utt, lang, dur, es, en in rows:
        files["wav.scp"].append(f"{utt} /audio/{utt}.flac")
        files["utt2spk"].append(f"{utt} spk1")
        files["utt2lang"].append(f"{utt} {lang}")
        files["utt2dur"].append(f"{utt} {dur}")
        if es is not None:
            files["text.es"].append(f"{utt} {es}")
        if en is not None:
            files["text.en"].append(f"{utt} {en}")
    for name, lines in files.items():
        (d / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return d


def read_kv(path: Path) -> dict:
    return dict(line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines())


ROWS = [
    ("u1", "es", 2.0, "el gato", "the cat"),
    ("u2", "es", 2.5, "el perro", ""),          # empty target
    ("u3", "fr", 2.0, "le chat", "the cat"),     # language not allowed
    ("u4", "es", 45.0, "la casa", "the house"),  # too long
    ("u5", "es", 0.05, "sí", "yes"),             # too short
    ("u6", "es", 3.0, "el libro", None),         # no target line
    ("u7", "es", 3.0, "hola amigo", "hello friend"),
]


def test_st_task_dir_and_drops(tmp_path, capsys):
    src = write_dir(tmp_path / "in", ROWS)
    out = tmp_path / "out"
    rc = make_task_dir.main(["--task", "st", "--tgt_lang", "en", "--languages", "es", "en",
                             "--min_dur", "0.1", "--max_dur", "30", "--out", str(out), str(src)])
    assert rc == 0
    summary = capsys.readouterr().out
    assert "2 utterances" in summary and str(out / "dropped") in summary
    # one count per kind of reason, not per duration value
    assert "dropped 5 (2: empty text, 1: language, 2: duration; see" in summary
    assert read_kv(out / "text") == {"u1": "the cat", "u7": "hello friend"}
    assert read_kv(out / "src_text") == {"u1": "el gato", "u7": "hola amigo"}
    assert read_kv(out / "task") == {"u1": "st es en", "u7": "st es en"}
    assert read_kv(out / "utt2dur") == {"u1": "2.0", "u7": "3.0"}
    assert (out / "spk2utt").read_text() == "spk1 u1 u7\n"
    dropped = {line.split(" ", 1)[0]: line for line in (out / "dropped").read_text().splitlines()}
    assert set(dropped) == {"u2", "u3", "u4", "u5", "u6"}
    assert "empty or missing text.en" in dropped["u2"] and "empty or missing text.en" in dropped["u6"]
    assert "language 'fr'" in dropped["u3"]
    assert "duration 45.0 s outside [0.1, 30.0]" in dropped["u4"]
    assert "duration 0.05 s" in dropped["u5"]
    assert str(src) in dropped["u4"]


def test_asr_task_targets_the_source_text(tmp_path):
    src = write_dir(tmp_path / "in", ROWS)
    out = tmp_path / "out"
    assert make_task_dir.main(["--task", "asr", "--out", str(out), str(src)]) == 0
    text = read_kv(out / "text")
    assert "u3" not in text  # no text.fr: dropped as empty
    assert text["u2"] == "el perro" and text["u1"] == "el gato"
    assert read_kv(out / "task")["u1"] == "asr es es"
    assert "u4" not in text  # max_dur 30 by default


def test_duplicate_ids_across_inputs(tmp_path, capsys):
    a = write_dir(tmp_path / "a", ROWS[:1])
    b = write_dir(tmp_path / "b", [("u1", "es", 2.0, "otro", "another")])
    rc = make_task_dir.main(["--task", "st", "--tgt_lang", "en", "--out", str(tmp_path / "out"), str(a), str(b)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "utterance u1 appears in two input dirs" in err and str(a) in err and str(b) in err
    assert not (tmp_path / "out").exists()


def test_nothing_left_is_an_error(tmp_path, capsys):
    src = write_dir(tmp_path / "in", ROWS[2:3])
    rc = make_task_dir.main(["--task", "st", "--tgt_lang", "en", "--languages", "es",
                             "--out", str(tmp_path / "out"), str(src)])
    assert rc == 1 and "no utterance left" in capsys.readouterr().err


def test_st_needs_tgt_lang(tmp_path, capsys):
    src = write_dir(tmp_path / "in", ROWS[:1])
    assert make_task_dir.main(["--task", "st", "--out", str(tmp_path / "out"), str(src)]) == 2
    assert "--tgt_lang" in capsys.readouterr().err


def test_missing_input_file(tmp_path, capsys):
    src = write_dir(tmp_path / "in", ROWS[:1])
    (src / "utt2lang").unlink()
    assert make_task_dir.main(["--task", "asr", "--out", str(tmp_path / "out"), str(src)]) == 1
    assert "utt2lang" in capsys.readouterr().err


def test_lang_ali_for_monolingual_and_code_switched_utterances(tmp_path):
    src = write_dir(tmp_path / "in", [("u1", "es", 2.0, "el gato", "the cat"),
                                      ("u2", "cs", 1.5, "el cat", "the cat"),
                                      ("u3", "cs", 1.0, "la house", "the house")])
    (src / "text.cs").write_text("u2 el cat\nu3 la house\n", encoding="utf-8")
    (src / "word_ali").write_text("u2 0.10 0.40 el es\nu2 0.50 1.20 cat en\n", encoding="utf-8")
    out = tmp_path / "out"
    assert make_task_dir.main(["--task", "st", "--tgt_lang", "en", "--out", str(out), str(src)]) == 0
    # whole monolingual utterances; code-switched ones word by word (none without word_ali)
    assert read_kv(out / "lang_ali") == {"u1": "2.0 es 0 2.0", "u2": "1.5 es 0.10 0.40 en 0.50 1.20",
                                         "u3": "1.0"}
