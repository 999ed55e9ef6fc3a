"""add_replay: the previous stage's utterances mixed into a stage's data dir, flagged."""

from pathlib import Path

from espnet_csst.bin import add_replay


def task_dir(d: Path, utts, task: str, with_lang_ali: bool = True) -> Path:
    d.mkdir(parents=True)
    files = {"wav.scp": "{u} /a/{u}.flac", "text": "{u} text of {u}", "task": "{u} " + task,
             "utt2spk": "{u} spk_{u}", "src_text": "{u} src of {u}"}
    if with_lang_ali:
        files["lang_ali"] = "{u} 1.0 es 0 1.0"
    for name, fmt in files.items():
        (d / name).write_text("".join(fmt.format(u=u) + "\n" for u in utts), encoding="utf-8")
    return d


def read_kv(path: Path) -> dict:
    return dict(line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines())


def test_replayed_utterances_are_renamed_flagged_and_seeded(tmp_path, capsys):
    cur = task_dir(tmp_path / "B", [f"u{i}" for i in range(10)], "st es en")
    prev = task_dir(tmp_path / "A", [f"u{i}" for i in range(20)], "asr es es")
    out = tmp_path / "out"
    assert add_replay.main(["--replay", str(prev), "--ratio", "0.5", "--out", str(out), str(cur)]) == 0
    flags = read_kv(out / "replay")
    assert sorted(flags.values()).count("0") == 10 and sorted(flags.values()).count("1") == 5
    tasks, spk = read_kv(out / "task"), read_kv(out / "utt2spk")
    for u, f in flags.items():
        assert u.startswith("replay-") == (f == "1")
        assert tasks[u] == ("asr es es" if f == "1" else "st es en")
    assert all(spk[u].startswith("replay-spk_") for u, f in flags.items() if f == "1")
    # every file covers the same utterances; spk2utt is rebuilt
    for name in ("wav.scp", "text", "src_text", "lang_ali"):
        assert set(read_kv(out / name)) == set(flags), name
    assert len((out / "spk2utt").read_text().splitlines()) == 15
    # the same seed draws the same utterances; the ratio is capped by what there is
    again = tmp_path / "again"
    add_replay.main(["--replay", str(prev), "--ratio", "0.5", "--out", str(again), str(cur)])
    assert read_kv(again / "replay") == flags
    add_replay.main(["--replay", str(prev), "--ratio", "10", "--out", str(again), str(cur)])
    assert list(read_kv(again / "replay").values()).count("1") == 20
    assert "10 utterances" in capsys.readouterr().out


def test_files_missing_on_one_side_are_left_out_and_reported(tmp_path, capsys):
    cur = task_dir(tmp_path / "B", ["u1", "u2"], "st es en", with_lang_ali=False)
    prev = task_dir(tmp_path / "A", ["u1", "u3"], "asr es es")
    out = tmp_path / "out"
    assert add_replay.main(["--replay", str(prev), "--ratio", "1", "--out", str(out), str(cur)]) == 0
    assert not (out / "lang_ali").exists() and "left out lang_ali" in capsys.readouterr().out


def test_bad_inputs_are_named(tmp_path, capsys):
    cur = task_dir(tmp_path / "B", ["u1"], "st es en")
    prev = task_dir(tmp_path / "A", ["u1", "u2"], "asr es es")
    (prev / "text").write_text("u1 only one line\n", encoding="utf-8")
    assert add_replay.main(["--replay", str(prev), "--ratio", "2", "--out", str(tmp_path / "o"), str(cur)]) == 1
    assert "has no line for u2" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert add_replay.main(["--replay", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), str(cur)]) == 1
    assert add_replay.main(["--replay", str(prev), "--ratio", "0", "--out", str(tmp_path / "o"), str(cur)]) == 2
    replayed = task_dir(tmp_path / "R", ["replay-u1"], "st es en")
    assert add_replay.main(["--replay", str(prev), "--out", str(tmp_path / "o"), str(replayed)]) == 1
    assert "already has replayed" in capsys.readouterr().err
