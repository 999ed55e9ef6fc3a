"""score_unit_study on hand-made candidate dirs: resynthesis ceiling, unit statistics, unit LM accuracy, cost."""

import json
from pathlib import Path

import numpy as np

from espnet_csst.bin import score_unit_study
from espnet_csst.units.kmeans import save_kmeans

REFS = {"u1": "We washed our hands.", "u2": "We played tennis."}


def write(path: Path, rows: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k} {v}\n" for k, v in rows.items()), encoding="utf-8")


def make_candidate(root: Path, name: str, feature_conf: dict, k: int, asr: dict, unit_acc=None, system="a"):
    exp, dump = root / "exp" / name, root / "dump" / name
    save_kmeans(exp / "units" / "kmeans.npz", np.zeros((k, 3), dtype=np.float32), feature_conf)
    sd = dump / "units" / "dev"
    write(sd / "text.en", REFS)
    write(sd / "tgt_units", {"u1": "1 1 2 3 4 4", "u2": "1 2 3 5 5 6"})
    write(sd / "unit_hop", {"640": ""})
    write(sd / "raw" / "tgt_word_frames", {"u1": "0 4 We 4 6 washed", "u2": "0 2 We 2 6 played"})
    write(exp / "reference" / "dev" / "units_vocoded" / "asr_text", asr)
    (exp / "stage_times.tsv").write_text("4\tunit k-means\t10.0\n5\tdump units\t20.5\n6\tvocoder\t30.0\n")
    if unit_acc is not None:
        write(exp / f"unit_lm_{system}" / "decode_dev" / "unit_acc", unit_acc)
        write(exp / f"unit_lm_{system}" / "decode_dev" / "unit_acc_other_src", {"u1": "1 4", "u2": "1 4"})
        write(exp / f"unit_lm_{system}" / "decode_dev" / "synth" / "asr_text", {"u1": "we washed our hands"})
    return ["--candidate", name, str(exp), str(dump)]


def test_table_of_candidates(tmp_path):
    args = make_candidate(tmp_path, "mfcc_k4", {"kind": "mfcc", "stack": 4}, 4,
                          {u: r.lower().strip(".") for u, r in REFS.items()}, {"u1": "3 4", "u2": "1 4"})
    args += make_candidate(tmp_path, "whisper4_k8", {"kind": "whisper", "layer": 4, "stack": 2, "path": "w"}, 8,
                           {"u1": "we washed"})
    # the first candidate's source side: "lo" in two voices, units (5, 6) against (5, 7, 7) -> 1 / 2
    write(tmp_path / "dump" / "mfcc_k4" / "units" / "dev" / "src_units", {"u1": "5 6 8", "u2": "5 7 7 9"})
    write(tmp_path / "dump" / "mfcc_k4" / "units" / "dev" / "raw" / "src_word_frames",
          {"u1": "0 2 Lo 2 3 x", "u2": "0 3 lo 3 4 y", "u3": "0 1 lo"})  # u3: dropped from the dump
    # the second candidate's source speech has units of its own (s2st.sh --src_n_units)
    save_kmeans(Path(args[-2]) / "units" / "src_kmeans.npz", np.zeros((6, 3), dtype=np.float32),
                {"kind": "whisper", "layer": 2, "stack": 2, "path": "w"})
    out = tmp_path / "study" / "results.md"
    assert score_unit_study.main(args + ["--set", "dev", "--out", str(out), "--command", "local/choose_units.sh"]) == 0
    rows = {r["candidate"]: r for r in json.loads(out.with_suffix(".json").read_text())}
    m, w = rows["mfcc_k4"], rows["whisper4_k8"]
    assert m["ceiling_ASR_BLEU"] == 100.0 and m["ceiling_missing"] == 0 and m["unit_acc"] == 50.0
    assert m["unit_acc_other_src"] == 25.0 and w["unit_acc_other_src"] is None
    assert 0 < m["system_ASR_BLEU"] < 100 and w["system_ASR_BLEU"] is None
    assert w["ceiling_ASR_BLEU"] < 50 and w["ceiling_missing"] == 1 and w["unit_acc"] is None
    assert (m["K"], w["K"], m["unit_ms"]) == (4, 8, 40)
    assert m["features"] == "mfcc, stack 4" and w["features"] == "whisper layer 4, stack 2"
    assert m["src_units"] == "shared" and w["src_units"] == "whisper layer 2, stack 2, K 6"
    assert (m["src_word_edit"], m["src_word_pairs"]) == (0.5, 1) and w["src_word_edit"] is None
    # 12 frames in 9 runs; "we" occurs twice: units (1, 2, 3) against (1, 2) -> 1 / 3
    assert m["frames_per_run"] == 1.33 and m["word_pairs"] == 1 and m["word_edit"] == round(1 / 3, 3)
    assert m["seconds"] == 60.5
    text = out.read_text()
    assert "| whisper4_k8 | whisper layer 4, stack 2 | 8 | 40 | whisper layer 2, stack 2, K 6 |" in text and "local/choose_units.sh" in text


def test_missing_candidate_names_the_step(tmp_path, caplog):
    rc = score_unit_study.main(["--candidate", "x_k2", str(tmp_path / "e"), str(tmp_path / "d"),
                                "--out", str(tmp_path / "r.md")])
    assert rc == 1 and "candidate x_k2" in caplog.text and "choose_units.sh" in caplog.text
    assert not (tmp_path / "r.md").exists()


def test_unit_lm_system_found_when_not_named(tmp_path):
    """Without --unit_lm_system the table reports the system whose unit LM was trained (here c), not a."""
    args = make_candidate(tmp_path, "mfcc_k4", {"kind": "mfcc", "stack": 4}, 4, {"u1": "we"},
                          {"u1": "3 4", "u2": "1 4"}, system="c")
    out = tmp_path / "results.md"
    assert score_unit_study.main(args + ["--set", "dev", "--out", str(out)]) == 0
    row = json.loads(out.with_suffix(".json").read_text())[0]
    assert row["unit_acc"] == 50.0 and row["unit_acc_other_src"] == 25.0 and row["system_ASR_BLEU"] is not None
    assert "unit LM c unit_acc" in out.read_text()
    assert score_unit_study.main(args + ["--set", "dev", "--out", str(out), "--unit_lm_system", "e"]) == 1
