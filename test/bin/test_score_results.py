"""The score_results scoring stage: metrics, id matching, RESULTS.json / RESULTS.md upkeep."""

import json
import logging

import pytest
import sacrebleu

from espnet_csst.bin.score_results import main
from espnet_csst.scoring import metrics

REF = {
    "u1": "Hello, World! How are you today?",
    "u2": "¿Qué tal? The weather is nice.",
    "u3": "The cat sat on the mat near the door.",
    "u4": "We will meet again tomorrow morning.",
}


def write_text(path, mapping):
    path.write_text("".join(f"{k} {v}".rstrip() + "\n" for k, v in mapping.items()), encoding="utf-8")
    return path


def score(tmp_path, hyp, system="sys", test_set="test_cs", task="st", ref=REF, extra=()):
    hyp_path = write_text(tmp_path / f"hyp_{system}_{test_set}_{task}", hyp)
    ref_path = write_text(tmp_path / f"ref_{test_set}", ref)
    assert main(["--results_dir", str(tmp_path / "res"), "--system", system, "--test_set", test_set,
                 "--task", task, "--hyp", str(hyp_path), "--ref", str(ref_path), *extra]) == 0
    return load(tmp_path)


def load(tmp_path):
    return json.loads((tmp_path / "res" / "RESULTS.json").read_text(encoding="utf-8"))


def values(results, system="sys", test_set="test_cs"):
    return {r["metric"]: r["value"] for r in results["rows"]
            if r["system"] == system and r["test_set"] == test_set}


def test_perfect_hypothesis_scores_bleu_100_and_wer_0(tmp_path):
    st = values(score(tmp_path, REF, task="st"))
    assert st == {"BLEU": 100.0, "chrF": 100.0, "BLEU_lc.rm": 100.0, "chrF_lc.rm": 100.0}
    asr = values(score(tmp_path, REF, task="asr"))
    assert asr["WER"] == 0.0 and asr["CER"] == 0.0


def test_bleu_and_chrf_equal_sacrebleu_and_record_signature(tmp_path):
    hyp = {"u1": "Hello world, how are you?", "u2": "What's up? Weather is nice.",
           "u3": "A cat sat on the mat by the door.", "u4": "We meet again tomorrow."}
    results = score(tmp_path, hyp)
    hyps, refs = list(hyp.values()), list(REF.values())
    got = values(results)
    assert got["BLEU"] == round(sacrebleu.corpus_bleu(hyps, [refs]).score, 2)
    assert got["chrF"] == round(sacrebleu.corpus_chrf(hyps, [refs]).score, 2)
    row = next(r for r in results["rows"] if r["metric"] == "BLEU")
    assert row["signature"].startswith("nrefs:1|case:mixed|") and "tok:13a" in row["signature"]
    assert row["n_utts"] == 4 and row["n_missing"] == 0 and row["task"] == "st"


def test_lc_rm_ignores_case_and_punctuation_but_cased_does_not(tmp_path):
    hyp = {k: metrics.remove_punctuation(v).upper() for k, v in REF.items()}
    got = values(score(tmp_path, hyp))
    assert got["BLEU_lc.rm"] == 100.0 and got["chrF_lc.rm"] == 100.0
    assert got["BLEU"] < 50 and got["chrF"] < 50
    lc_row = next(r for r in load(tmp_path)["rows"] if r["metric"] == "BLEU_lc.rm")
    assert "case:lc" in lc_row["signature"] and "punct:rm" in lc_row["signature"]


def test_asr_is_case_and_punctuation_insensitive_and_counts_errors(tmp_path):
    hyp = {k: metrics.remove_punctuation(v).upper() for k, v in REF.items()}
    hyp["u3"] = "the cat sat on a mat near the door"  # one substitution
    rows = {r["metric"]: r for r in score(tmp_path, hyp, task="asr")["rows"]}
    n_words = sum(len(metrics.normalise_lc_rm(v).split()) for v in REF.values())
    assert rows["WER"]["n_errors"] == 1 and rows["WER"]["n_ref"] == n_words
    assert rows["WER"]["value"] == round(100 / n_words, 2)
    assert rows["CER"]["n_errors"] == 3  # "the" -> "a": 1 substitution + 2 deletions
    assert "unit:word" in rows["WER"]["signature"]


def test_missing_hypothesis_is_empty_counted_and_lowers_score(tmp_path, caplog):
    full = values(score(tmp_path, REF, system="full"), system="full")
    hyp = {k: v for k, v in REF.items() if k != "u2"}
    with caplog.at_level(logging.WARNING):
        results = score(tmp_path, hyp, system="partial")
    partial = values(results, system="partial")
    assert all(partial[m] < full[m] for m in full)
    assert {r["n_missing"] for r in results["rows"] if r["system"] == "partial"} == {1}
    assert "1 of 4" in caplog.text and "u2" in caplog.text


def test_empty_hypothesis_line_is_accepted(tmp_path):
    hyp = dict(REF, u4="")
    rows = score(tmp_path, hyp, task="asr")["rows"]
    assert {r["n_missing"] for r in rows} == {0}
    assert values({"rows": rows})["WER"] > 0


def test_extra_hypothesis_id_raises_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match="hyp_with_extra.*'u9'.*same test set"):
        score(tmp_path, dict(REF, u9="stray"), system="with_extra")
    assert not (tmp_path / "res" / "RESULTS.json").exists()


def test_empty_reference_raises_naming_it(tmp_path):
    (tmp_path / "empty_ref").write_text("")
    write_text(tmp_path / "hyp", REF)
    with pytest.raises(ValueError, match="empty_ref.*empty"):
        main(["--results_dir", str(tmp_path / "res"), "--system", "s", "--test_set", "t",
              "--task", "st", "--hyp", str(tmp_path / "hyp"), "--ref", str(tmp_path / "empty_ref")])


def test_rows_accumulate_across_systems_and_are_replaced_on_rescoring(tmp_path):
    score(tmp_path, REF, system="a")
    score(tmp_path, REF, system="b", test_set="test_mono")
    score(tmp_path, REF, system="b", task="asr", test_set="test_mono")
    results = score(tmp_path, {"u1": "nothing alike"}, system="a", extra=["--decode_dir", "exp/a"])
    keys = [(r["system"], r["test_set"], r["metric"]) for r in results["rows"]]
    assert len(keys) == len(set(keys)) == 10  # 4 (a) + 4 + 2 (b), no duplicates
    assert keys[0] == ("a", "test_cs", "BLEU")  # replaced in place, order kept
    assert values(results, system="a")["BLEU"] < 100
    assert values(results, system="b", test_set="test_mono")["BLEU"] == 100
    assert {r["decode_dir"] for r in results["rows"] if r["system"] == "a"} == {"exp/a"}


def test_corrupt_results_json_raises_and_is_left_untouched(tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    (res / "RESULTS.json").write_text('{"rows": [')
    with pytest.raises(ValueError, match="RESULTS.json.*delete it"):
        score(tmp_path, REF)
    assert (res / "RESULTS.json").read_text() == '{"rows": ['
    (res / "RESULTS.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="RESULTS.json.*not a results file"):
        main(["--results_dir", str(res), "--render_only"])
    assert (res / "RESULTS.json").read_text() == "[1, 2]"


def test_results_md_lists_every_system_commands_and_timings(tmp_path, capsys):
    (tmp_path / "timings.tsv").write_text("1\tdata prep\t12.5\n2\ttrain\t3600\n")
    score(tmp_path, REF, system="csst_linear", extra=["--command", "./run.sh --stage 9"])
    score(tmp_path, REF, system="peer_espnet_st", test_set="test_mono",
          extra=["--timings", str(tmp_path / "timings.tsv"), "--title", "Mini CS",
                 "--header_note", "machine: test box"])
    out = capsys.readouterr().out
    assert "peer_espnet_st" in out and "BLEU_lc.rm" in out and "100.00" in out
    md = (tmp_path / "res" / "RESULTS.md").read_text()
    assert md.startswith("# Mini CS\n") and "machine: test box" in md
    assert "| csst_linear | test_cs | 100.00 |" in md
    assert "| peer_espnet_st | test_mono | 100.00 |" in md
    assert "./run.sh --stage 9" in md and "tok:13a" in md
    assert "| 2 | train | 3600.0 | 1:00:00 |" in md and "**3612.5**" in md


def test_stages_that_ran_side_by_side_count_once_in_the_wall_time(tmp_path):
    # stage 11 ran in the background from t=100 to t=400, beside stages 5 (100-250) and 6 (250-300)
    (tmp_path / "timings.tsv").write_text("4\ttokens\t10\t90\t100\n5\tllm\t150\t100\t250\n"
                                          "6\tstats\t50\t250\t300\n11\tpeer\t300\t100\t400\n"
                                          "13\tscore\t5\t400\t405\n")
    score(tmp_path, REF, extra=["--timings", str(tmp_path / "timings.tsv")])
    md = (tmp_path / "res" / "RESULTS.md").read_text()
    assert "| ran beside stages |" in md
    assert "| 11 | peer | 300.0 | 0:05:00 | 5 6 |" in md and "| 4 | tokens | 10.0 | 0:00:10 |  |" in md
    assert "**total (wall clock)** | **315.0**" in md  # 90..405, not the 515 s sum


def test_render_only_rebuilds_markdown_with_stored_timings(tmp_path):
    (tmp_path / "timings.tsv").write_text("1\tdecode\t61\n")
    score(tmp_path, REF, extra=["--timings", str(tmp_path / "timings.tsv"), "--title", "T"])
    md_path = tmp_path / "res" / "RESULTS.md"
    expected = md_path.read_text()
    md_path.unlink()
    assert main(["--results_dir", str(tmp_path / "res"), "--render_only"]) == 0
    assert md_path.read_text() == expected and "0:01:01" in expected


def test_render_only_on_empty_dir_and_argument_checks(tmp_path):
    assert main(["--results_dir", str(tmp_path / "new"), "--render_only"]) == 0
    assert "No results scored yet" in (tmp_path / "new" / "RESULTS.md").read_text()
    with pytest.raises(SystemExit):
        main(["--results_dir", str(tmp_path / "new"), "--system", "s"])  # --hyp etc. missing
    with pytest.raises(SystemExit):
        main(["--results_dir", str(tmp_path / "new"), "--render_only", "--hyp", "h"])


def test_bad_timings_line_names_file_and_line(tmp_path):
    (tmp_path / "timings.tsv").write_text("1\tok\t3\n2 no tabs 4\n")
    with pytest.raises(ValueError, match=r"timings.tsv:2"):
        score(tmp_path, REF, extra=["--timings", str(tmp_path / "timings.tsv")])


def test_tables_and_routing_accuracy(tmp_path):
    routing = tmp_path / "routing.json"
    routing.write_text(json.dumps({"all": {"accuracy": 0.9712, "tokens": 100},
                                   "monolingual": {"accuracy": 0.99, "tokens": 60},
                                   "code_switched": {"accuracy": None, "tokens": 0}}))
    score(tmp_path, REF, system="sys_main")
    score(tmp_path, REF, system="moe", extra=["--table", "Ablation", "--table_note", "same budget",
                                              "--routing_json", str(routing)])
    score(tmp_path, REF, system="sys_main", extra=["--table", "Ablation"])  # same name, other table
    md = (tmp_path / "res" / "RESULTS.md").read_text()
    main_part, ablation = md.split("## Ablation")
    assert "| sys_main | test_cs | 100.00 |" in main_part and "moe" not in main_part
    assert "route_acc" not in main_part
    assert "same budget" in ablation and "| route_acc | route_acc_mono |" in ablation
    assert "route_acc_cs" not in ablation  # no code-switched tokens: no column
    row = [ln for ln in ablation.splitlines() if ln.startswith("| moe |")][0]
    assert "| 97.12 | 99.00 |" in row
    rows = json.loads((tmp_path / "res" / "RESULTS.json").read_text())["rows"]
    assert len([r for r in rows if r["system"] == "sys_main" and r["metric"] == "BLEU"]) == 2
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="bad.json"):
        score(tmp_path, REF, system="x", extra=["--routing_json", str(tmp_path / "bad.json")])


def test_alignment_columns_at_the_layers_chosen_before_training(tmp_path):
    def layers(path, mrr, dist, chosen):
        path.write_text(json.dumps({"data_dir": "dump/raw/stageB_valid", "utterances": 50, "chosen": chosen,
                                    "layers": [{"layer": i, "MRR": m, "ot_distance": d}
                                               for i, (m, d) in enumerate(zip(mrr, dist))]}))
        return path
    before = layers(tmp_path / "before.json", [0.1, 0.2, 0.3], [0.9, 0.8, 0.7], chosen=[1, 2])
    # after training another layer would win; the columns still use the layers chosen before
    after = layers(tmp_path / "after.json", [0.9, 0.4, 0.6], [0.5, 0.3, 0.1], chosen=[0])
    score(tmp_path, REF, system="ot", extra=["--table", "Ablation: OT", "--align_json", str(after),
                                             "--align_before_json", str(before)])
    rows = {r["metric"]: r["value"] for r in load(tmp_path)["rows"] if r["system"] == "ot"}
    assert rows["MRR_sel"] == pytest.approx(0.5) and rows["OT_sel_after"] == pytest.approx(0.2)
    assert rows["OT_sel_before"] == pytest.approx(0.75)
    md = (tmp_path / "res" / "RESULTS.md").read_text()
    assert "| MRR_sel | OT_sel_before | OT_sel_after |" in md and "| 0.500 | 0.750 | 0.200 |" in md
    with pytest.raises(SystemExit):
        score(tmp_path, REF, system="x", extra=["--align_json", str(after)])


def test_plots_are_linked_kept_on_rerender_and_missing_ones_marked(tmp_path):
    res = tmp_path / "res"
    (res / "exp" / "csst_stageC" / "images").mkdir(parents=True)
    (res / "exp" / "csst_stageC" / "images" / "stages.png").write_bytes(b"png")
    score(tmp_path, REF, extra=["--plot", "stages A-C=exp/csst_stageC/images/stages.png",
                                "--plot", "routing on test_cs=exp/csst_stageC/images/routing_test_cs.png"])
    md = (res / "RESULTS.md").read_text()
    assert "## Plots" in md
    assert "- stages A-C: [exp/csst_stageC/images/stages.png](exp/csst_stageC/images/stages.png)\n" in md
    assert "routing_test_cs.png) (not found)" in md
    # a later render without --plot keeps them; a new set replaces them
    assert main(["--results_dir", str(res), "--render_only"]) == 0
    assert "stages A-C" in (res / "RESULTS.md").read_text()
    assert main(["--results_dir", str(res), "--render_only", "--plot", "only=exp/csst_stageC/images/stages.png"]) == 0
    md = (res / "RESULTS.md").read_text()
    assert "- only: " in md and "routing on test_cs" not in md
    with pytest.raises(ValueError, match="LABEL=PATH"):
        main(["--results_dir", str(res), "--render_only", "--plot", "no-separator"])


# ------------------------------------------------------------------ seeds and significance

from test.scoring.test_significance import corrupt, sentences  # noqa: E402  (helpers shared with its tests)

SEED_REFS = sentences(40, 0)


def score_seed(tmp_path, system, seed, p, baseline=None, table="Ablation", test_set="test_cs", like=None):
    import random
    rng = random.Random(f"{like or system}-{seed}")  # like: the same hypotheses as that system
    hyp = {f"u{i:03d}": corrupt(r, rng, p) for i, r in enumerate(SEED_REFS)}
    extra = ["--table", table, "--seed", str(seed)] + (["--baseline", baseline] if baseline else [])
    return score(tmp_path, hyp, system=f"{system}", test_set=test_set,
                 ref={f"u{i:03d}": r for i, r in enumerate(SEED_REFS)}, extra=extra)


def seed_row(md, system, test_set="test_cs"):
    line = next(l for l in md.splitlines() if l.startswith(f"| {system} | {test_set} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_seeds_give_mean_std_and_a_marked_paired_test_against_the_baseline(tmp_path):
    for seed in (0, 1, 2):
        score_seed(tmp_path, "b", seed, 0.5)
    for seed in (0, 1, 2):
        results = score_seed(tmp_path, "e", seed, 0.1, baseline="b")
    assert len([r for r in results["rows"] if r["system"] == "e" and r["metric"] == "BLEU"]) == 3
    (sig,) = results["significance"]
    assert sig["system"] == "e" and sig["baseline"] == "b" and sig["seeds"] == [0, 1, 2] and sig["p_value"] < 0.05
    md = (tmp_path / "res" / "RESULTS.md").read_text(encoding="utf-8")
    header = [c.strip() for c in next(l for l in md.splitlines() if l.startswith("| system |")).strip("|").split("|")]
    row = dict(zip(header, seed_row(md, "e")))
    bleus = [r["value"] for r in results["rows"] if r["system"] == "e" and r["metric"] == "BLEU"]
    mean = sum(bleus) / 3
    assert row["BLEU"].startswith(f"{mean:.2f} ± ")
    assert row["seeds"] == "0 1 2" and row["baseline"] == "b" and row["ΔBLEU vs baseline"].endswith(" *")
    assert float(row["p"]) < 0.05
    assert "paired bootstrap resampling" in md and "significance: `paired-bs|BLEU|pooled over seeds" in md


def test_rescoring_a_seed_replaces_its_row_and_retests(tmp_path):
    for seed in (0, 1):
        score_seed(tmp_path, "b", seed, 0.5)
        score_seed(tmp_path, "e", seed, 0.1, baseline="b")
    before = load(tmp_path)
    after = score_seed(tmp_path, "e", 1, 0.1, baseline="b")
    assert len(after["rows"]) == len(before["rows"]) and len(after["significance"]) == 1


def test_a_baseline_scored_after_its_system_is_still_tested(tmp_path):
    score_seed(tmp_path, "e", 0, 0.1, baseline="b")
    assert not load(tmp_path).get("significance")  # nothing to compare with yet
    results = score_seed(tmp_path, "b", 0, 0.5)
    assert results["significance"][0]["seeds"] == [0]


def test_a_system_with_the_baseline_s_hypotheses_gets_no_mark(tmp_path):
    for seed in (0, 1, 2):
        score_seed(tmp_path, "b", seed, 0.3)
        score_seed(tmp_path, "c", seed, 0.3, baseline="b", like="b")
    md = (tmp_path / "res" / "RESULTS.md").read_text(encoding="utf-8")
    assert not seed_row(md, "c")[-6].endswith("*")  # the ΔBLEU cell
    sig = load(tmp_path)["significance"][0]
    assert sig["delta_pooled"] == 0 and sig["p_value"] >= 0.05


def test_a_baseline_needs_seeds(tmp_path, capsys):
    with pytest.raises(SystemExit):
        score(tmp_path, REF, extra=["--baseline", "b"])
    assert "give --seed too" in capsys.readouterr().err


def test_a_system_scored_per_seed_replaces_its_unseeded_rows(tmp_path):
    score(tmp_path, REF, system="b", extra=["--table", "Ablation"])  # an older run, no seed
    results = score_seed(tmp_path, "b", 0, 0.5)
    b_bleu = [r for r in results["rows"] if r["system"] == "b" and r["metric"] == "BLEU"]
    assert [r["seed"] for r in b_bleu] == [0] and b_bleu[0]["value"] < 100
