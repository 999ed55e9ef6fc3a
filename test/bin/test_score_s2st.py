"""score_s2st on hand-made decode outputs: ASR-BLEU, unit accuracy, ceilings, missing hypotheses, listening page."""

import json
from pathlib import Path

import yaml

from espnet_csst.bin import score_s2st

REFS = {"u1": "We washed our hands.", "u2": "The cat eats fish today.", "u3": "Tomorrow we will play tennis."}


def write(path: Path, rows: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k} {v}\n" for k, v in rows.items()), encoding="utf-8")


def make_tree(root: Path) -> dict:
    dump, exp = root / "dump/units", root / "exp"
    for dset in ("dev", "test"):
        write(dump / dset / "text.en", REFS)
        write(dump / dset / "tgt_units", {"u1": "1 2 3 4", "u2": "5 6", "u3": "7 8 9"})
        write(dump / dset / "tgt_wav.scp", {u: f"/audio/{u}.flac" for u in REFS})
        write(root / "data" / dset / "text.es", {u: f"fuente {u}" for u in REFS})
        for key in ("units_vocoded", "audio"):
            write(exp / "reference" / dset / key / "asr_text", {u: r.lower().strip(".") for u, r in REFS.items()})
        write(exp / "reference" / dset / "units_vocoded" / "wav.scp", {u: f"/voc/{u}.wav" for u in REFS})
    for name, perfect in (("a", False), ("c", True)):
        sdir = exp / f"unit_lm_{name}"
        sdir.mkdir(parents=True, exist_ok=True)
        (sdir / "config.yaml").write_text(yaml.safe_dump({"model_conf": {
            "interleave_schedule": "none" if name == "a" else "step", "interleave_interval": 50}}))
        (sdir / "train_seconds").write_text("12\n")
        for dset in ("dev", "test"):
            d = sdir / f"decode_{dset}"
            # c: perfect units and transcripts; a: one unit wrong per utterance, u3 missing from the ASR
            units = {"u1": "1 2 3 4", "u2": "5 6", "u3": "7 8 9"} if perfect else {"u1": "1 2 3 0", "u2": "5", "u3": "7 8 9"}
            write(d / "1best_recog" / "units", units)
            write(d / "unit_acc", {"u1": "4 5", "u2": "3 3", "u3": "4 4"} if perfect else {"u1": "2 5", "u2": "1 3", "u3": "2 4"})
            if perfect:  # c listens to its source: another utterance's source costs it accuracy
                write(d / "unit_acc_other_src", {"u1": "1 5", "u2": "1 3", "u3": "1 4"})
            asr = {u: r.lower().strip(".") for u, r in REFS.items()} if perfect else {"u1": "we washed", "u2": "the dog"}
            write(d / "synth" / "asr_text", asr)
            write(d / "synth" / "wav.scp", {u: f"/gen/{name}/{u}.wav" for u in asr})
            (d / "failed").write_text("")
    return {"dump": dump, "exp": exp}


def test_scores_systems_and_ceilings(tmp_path):
    t = make_tree(tmp_path)
    rc = score_s2st.main(["--results_dir", str(tmp_path), "--expdir", str(t["exp"]), "--units_dump", str(t["dump"]),
                          "--data_dir", str(tmp_path / "data"), "--valid_set", "dev", "--test_sets", "test",
                          "--system", f"a={t['exp'] / 'unit_lm_a'}", "--system", f"c={t['exp'] / 'unit_lm_c'}",
                          "--n_listen", "2"])
    assert rc == 0
    rows = {(r["key"], r["set"]): r for r in json.loads((tmp_path / "RESULTS.json").read_text())["rows"]}
    c, a = rows[("c", "test")], rows[("a", "test")]
    assert c["ASR_BLEU"] == 100.0 and c["unit_acc"] == round(100 * 11 / 12, 2) and c["UER"] == 0.0
    assert a["ASR_BLEU"] < 10 and a["missing"] == 1 and a["unit_acc"] == round(100 * 5 / 12, 2)
    assert c["unit_acc_other_src"] == 25.0 and "unit_acc_other_src" not in a
    assert a["UER"] == round(100 * 2 / 9, 2) and a["len_ratio"] == round(8 / 9, 3)
    assert rows[("audio", "dev")]["ASR_BLEU"] == 100.0 and rows[("units_vocoded", "test")]["n"] == 3
    assert a["interleaving"] == "p = 0" and "floor(t / 50)" in c["interleaving"] and c["train_seconds"] == 12.0
    md = (tmp_path / "RESULTS.md").read_text()
    assert "## Test" in md and "## Dev" in md and "ceiling: reference audio -> ASR" in md
    assert "ASR-BLEU: the recipe's English CTC ASR (exp/asr_*) transcribes" in md  # no --judge: the default
    page = (t["exp"] / "listen" / "index.html").read_text()
    assert page.count("<h2>") == 2 and page.count("<audio") == 2 * 4  # 2 utterances x (2 references + a + c)
    assert "fuente u1" in page


def test_render_only_adds_the_scoring_stage_time_without_rescoring(tmp_path):
    """s2st.sh stops stage 11's clock after scoring, then re-renders: its own time is in the table."""
    t = make_tree(tmp_path)
    common = ["--results_dir", str(tmp_path), "--expdir", str(t["exp"]), "--valid_set", "dev", "--test_sets", "test",
              "--timings", str(tmp_path / "stage_times.tsv"), "--n_listen", "0"]
    (tmp_path / "stage_times.tsv").write_text("10\tsynthesize and transcribe\t5.0\t100.0\t105.0\n")
    assert score_s2st.main([*common, "--units_dump", str(t["dump"]), "--data_dir", str(tmp_path / "data"),
                            "--system", f"c={t['exp'] / 'unit_lm_c'}", "--command", "./run.sh --stage 10",
                            "--judge", "Whisper pretrained/whisper_base (en, greedy)"]) == 0
    before = json.loads((tmp_path / "RESULTS.json").read_text())
    assert "| 11 | score |" not in (tmp_path / "RESULTS.md").read_text()
    (tmp_path / "stage_times.tsv").write_text("10\tsynthesize and transcribe\t5.0\t100.0\t105.0\n"
                                              "11\tscore\t2.5\t105.0\t107.5\n")
    # the decode outputs are gone: render_only must not read them
    for d in t["exp"].glob("unit_lm_*/decode_*"):
        (d / "synth" / "asr_text").unlink()
    assert score_s2st.main([*common, "--render_only"]) == 0
    after = json.loads((tmp_path / "RESULTS.json").read_text())
    assert after["rows"] == before["rows"] and after["command"] == "./run.sh --stage 10"
    assert [x["stage"] for x in after["timings"]] == ["10", "11"] and after["total_seconds"] == 7.5
    md = (tmp_path / "RESULTS.md").read_text()
    assert "| 11 | score | 2.5 |" in md and "./run.sh --stage 10" in md
    # the judge the rows were scored with is named again, not the default
    assert after["judge"] == "Whisper pretrained/whisper_base (en, greedy)"
    assert "ASR-BLEU: Whisper pretrained/whisper_base (en, greedy) transcribes" in md and "CTC ASR" not in md


def test_render_only_without_results_names_the_stage(tmp_path):
    import pytest

    with pytest.raises(SystemExit, match="run the scoring stage \\(11\\) first"):
        score_s2st.main(["--results_dir", str(tmp_path), "--valid_set", "dev", "--test_sets", "test", "--render_only"])
    with pytest.raises(SystemExit):  # scoring needs its systems
        score_s2st.main(["--results_dir", str(tmp_path), "--valid_set", "dev", "--test_sets", "test"])
