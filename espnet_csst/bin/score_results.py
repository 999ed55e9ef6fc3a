"""Score decoding output and keep a recipe's RESULTS.json / RESULTS.md up to date.

    python -m espnet_csst.bin.score_results --results_dir exp/results \\
        --system csst_linear --test_set test_cs --task st \\
        --hyp exp/csst_linear/decode_test_cs/text --ref data/test_cs/text.en \\
        [--decode_dir exp/csst_linear/decode_test_cs] [--command "run.sh --stage 9"] \\
        [--timings exp/timings.tsv] [--title "..."] [--header_note "..."]

    python -m espnet_csst.bin.score_results --results_dir exp/results --render_only \\
        [--timings exp/timings.tsv] [--title "..."] [--header_note "..."]

``--task st`` scores sacrebleu BLEU and chrF twice, as ESPnet's st.sh does:
detokenised and case-sensitive (``BLEU``, ``chrF``), and lower-cased with
punctuation removed (``BLEU_lc.rm``, ``chrF_lc.rm``). ``--task asr`` scores
``WER`` and ``CER`` (percent) on lower-cased, punctuation-free text.

``--table NAME`` puts the rows in their own section of RESULTS.md (an
ablation, say) instead of the main "Scores" table; ``--routing_json`` adds
the MoE group-routing accuracy that ``routing_report`` measured on the test
set (``route_acc``, ``route_acc_mono``, ``route_acc_cs``, percent).

``--seed N`` scores one run of a system trained with seed N (each seed its
own row); a table with seeds shows mean +- std over them, and ``--baseline
NAME`` adds sacrebleu's paired bootstrap test on BLEU against that system of
the same table, over the seeds' pooled hypotheses (scoring/significance.py),
rerun whenever either side gets a seed.

Hypothesis and reference are Kaldi text files (``uttid words...``) matched by
id. A reference utterance with no hypothesis is scored as an empty hypothesis
(and counted as ``n_missing``); a hypothesis id absent from the reference is
an error. Each scored (system, test_set, metric) replaces its earlier row in
RESULTS.json, other rows are kept, and RESULTS.md is regenerated from the
whole file, so one results directory collects every system and test set.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import List

from espnet_csst.scoring.metrics import match_hyp_to_ref, read_text_file, score_asr, score_st
from espnet_csst.scoring.results import (
    DEFAULT_TITLE, MAIN_TABLE, RESULTS_JSON, RESULTS_MD, align_rows, format_stdout_table, load_results, locked,
    make_rows, parse_plot, read_timings, render_markdown, routing_rows, upsert_rows,
)
from espnet_csst.scoring.significance import update_significance
from espnet_csst.utils.fileio import atomic_write_text


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="score_results", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results_dir", type=Path, required=True,
                        help="directory of RESULTS.json and RESULTS.md (created if missing)")
    parser.add_argument("--system", help="system name, e.g. csst_linear")
    parser.add_argument("--test_set", help="test set name, e.g. test_cs")
    parser.add_argument("--task", choices=["st", "asr"], help="st: BLEU/chrF; asr: WER/CER")
    parser.add_argument("--hyp", type=Path, help="Kaldi text of hypotheses (uttid words...)")
    parser.add_argument("--ref", type=Path, help="Kaldi text of references (uttid words...)")
    parser.add_argument("--decode_dir", help="decoding directory, recorded in the rows")
    parser.add_argument("--command", help="command line that produced the system (kept per system)")
    parser.add_argument("--render_only", action="store_true",
                        help="only regenerate RESULTS.md from RESULTS.json")
    parser.add_argument("--timings", type=Path,
                        help="TSV of 'stage<TAB>name<TAB>seconds' per recipe stage")
    parser.add_argument("--title", help=f"RESULTS.md title (default: {DEFAULT_TITLE})")
    parser.add_argument("--header_note", help="free text shown under the title "
                                              "(run command, machine, ...)")
    parser.add_argument("--table", default=MAIN_TABLE,
                        help=f"section of RESULTS.md for the rows (default: the main '{MAIN_TABLE}' table)")
    parser.add_argument("--table_note", help="free text shown under the --table heading")
    parser.add_argument("--plot", action="append", default=[], metavar="LABEL=PATH",
                        help="a plot to link from RESULTS.md (repeatable; the given set replaces the stored one); "
                             "PATH relative to --results_dir")
    parser.add_argument("--seed", type=int,
                        help="the run of --system trained with this seed: each seed is its own row, and a table "
                             "with seeds shows mean +- std over them")
    parser.add_argument("--baseline",
                        help="the system of the same --table this one is compared against: a paired bootstrap "
                             "test on BLEU over the seeds both have (needs --seed)")
    parser.add_argument("--routing_json", type=Path,
                        help="also record routing_report's accuracies (routing.json) for this system/test set")
    parser.add_argument("--align_json", type=Path,
                        help="also record retrieval MRR and OT distance at the selected layers after training "
                             "(select_align_layers' layers.json of the trained model; needs --align_before_json)")
    parser.add_argument("--align_before_json", type=Path,
                        help="layers.json of the layer selection before training: its chosen layers and OT distance")
    return parser


SCORING_ARGS = ("system", "test_set", "task", "hyp", "ref")


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.render_only:
        scoring_only = (*SCORING_ARGS, "decode_dir", "command", "routing_json", "align_json", "seed", "baseline")
        given = [f"--{a}" for a in scoring_only if getattr(args, a) not in (None, False, "")]
        if given:
            parser.error(f"--render_only does not score; drop {', '.join(given)}")
        return
    missing = [f"--{a}" for a in SCORING_ARGS if not getattr(args, a)]
    if missing:
        parser.error(f"scoring needs {', '.join(missing)} (or pass --render_only)")
    if args.baseline and args.seed is None:
        parser.error("--baseline compares runs over seeds; give --seed too")
    if args.baseline and args.baseline == args.system:
        parser.error(f"--baseline {args.baseline} is the system itself")
    if bool(args.align_json) != bool(args.align_before_json):
        parser.error("--align_json and --align_before_json go together")


def score_files(args: argparse.Namespace) -> List[dict]:
    hyp = read_text_file(args.hyp)
    ref = read_text_file(args.ref)
    hyps, refs, missing = match_hyp_to_ref(hyp, ref, args.hyp, args.ref)
    scores = score_st(hyps, refs) if args.task == "st" else score_asr(hyps, refs, args.ref)
    rows = make_rows(scores, args.system, args.test_set, args.task, len(refs), len(missing), args.decode_dir)
    if args.table != MAIN_TABLE:
        for row in rows:
            row["table"] = args.table
    if args.seed is not None:
        # the paired test rereads the hypotheses later, from wherever the results dir is read
        hyp, ref = (os.path.relpath(p.resolve(), args.results_dir.resolve()) for p in (args.hyp, args.ref))
        for row in rows:
            row.update(hyp=hyp, ref=ref)
    if args.routing_json:
        rows += routing_rows(args.routing_json, args.system, args.test_set, args.table)
    if args.align_json:
        rows += align_rows(args.align_json, args.align_before_json, args.system, args.test_set, args.table)
    if args.seed is not None:  # every row of the run, its routing and alignment rows too
        for row in rows:
            row["seed"] = args.seed
    return rows


def update_results(results: dict, args: argparse.Namespace, new_rows: List[dict]) -> None:
    upsert_rows(results, new_rows)
    if args.command:
        results["commands"][args.system] = args.command
    if args.timings:
        results["timings"] = read_timings(args.timings)
    # Stored so that --render_only reproduces the same page.
    if args.title is not None:
        results["title"] = args.title
    if args.header_note is not None:
        results["header_note"] = args.header_note
    if args.table_note is not None:
        results.setdefault("table_notes", {})[args.table] = args.table_note
    if args.plot:
        results["plots"] = [parse_plot(spec) for spec in args.plot]
    if args.baseline:
        results.setdefault("baselines", {}).setdefault(args.table, {})[args.system] = args.baseline
    if args.seed is not None:
        for outcome in update_significance(results, args.results_dir, args.table, args.test_set, args.system):
            logging.info("%s vs %s on %s, seeds %s: BLEU %+.2f (pooled), paired bootstrap p = %.4f",
                         outcome["system"], outcome["baseline"], outcome["test_set"], outcome["seeds"],
                         outcome["delta_pooled"], outcome["p_value"])


def main(argv=None) -> int:
    """Score (or only render); errors are raised as ResultsError/DataDirError (ValueError)."""
    parser = get_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    # Score before taking the lock: scoring is the slow part and touches no shared file.
    new_rows = [] if args.render_only else score_files(args)
    json_path, md_path = args.results_dir / RESULTS_JSON, args.results_dir / RESULTS_MD
    with locked(args.results_dir):
        results = load_results(json_path)
        update_results(results, args, new_rows)
        atomic_write_text(json_path, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        atomic_write_text(md_path, render_markdown(results, args.results_dir))
    if new_rows:
        print(format_stdout_table(new_rows))
    logging.info("wrote %s and %s (%d rows)", json_path, md_path, len(results["rows"]))
    return 0


def cli() -> int:
    """Entry point for recipes: one ``score_results: error: ...`` line instead of a traceback."""
    try:
        return main()
    except ValueError as e:
        print(f"score_results: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(cli())
