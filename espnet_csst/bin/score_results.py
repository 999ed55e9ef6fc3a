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

Hypothesis and reference are Kaldi text files (``uttid words...``) matched by
id. A reference utterance with no hypothesis is scored as an empty hypothesis
(and counted as ``n_missing``); a hypothesis id absent from the reference is
an error. Each scored (system, test_set, metric) replaces its earlier row in
RESULTS.json, other rows are kept, and RESULTS.md is regenerated from the
whole file, so one results directory collects every system and test set.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.metadata
import json
import logging
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import editdistance
from sacrebleu.metrics import BLEU, CHRF

from espnet_csst.data.datadir import read_map
from espnet_csst.utils.fileio import atomic_write_text

RESULTS_JSON = "RESULTS.json"
RESULTS_MD = "RESULTS.md"
DEFAULT_TITLE = "RESULTS"
#: Column order of the main RESULTS.md table (metrics of both tasks).
METRIC_COLUMNS = ("BLEU", "chrF", "BLEU_lc.rm", "chrF_lc.rm", "WER", "CER")
#: Routing accuracies from routing_report (percent), shown when a table has them.
ROUTING_COLUMNS = ("route_acc", "route_acc_mono", "route_acc_cs")
#: Speech-text alignment at the selected LLM layers (select_align_layers), shown when a table has them.
ALIGN_COLUMNS = ("MRR_sel", "OT_sel_before", "OT_sel_after")
EXTRA_COLUMNS = ROUTING_COLUMNS + ALIGN_COLUMNS
MAIN_TABLE = "Scores"
MAX_IDS_SHOWN = 5


class ResultsError(ValueError):
    """A results or timings file cannot be used; the message names the file."""


@dataclass
class Score:
    metric: str
    value: float
    signature: str
    #: Edit-distance metrics only: summed errors and summed reference length.
    n_errors: Optional[int] = None
    n_ref: Optional[int] = None


# --------------------------------------------------------------------------- input


def read_text_file(path: Path) -> Dict[str, str]:
    """``{utt: text}``; an id-only line is an empty text (a decoder may output nothing)."""
    return read_map(path)


def match_hyp_to_ref(hyp: Dict[str, str], ref: Dict[str, str], hyp_path: Path,
                     ref_path: Path) -> Tuple[List[str], List[str], List[str]]:
    """Align hypotheses to the reference order; return (hyps, refs, missing ids).

    A missing hypothesis is scored as empty rather than dropped: dropping it
    would silently raise the score of a system that fails on hard utterances.
    """
    if not ref:
        raise ResultsError(f"{ref_path}: reference file is empty; nothing to score against")
    extra = [utt for utt in hyp if utt not in ref]
    if extra:
        raise ResultsError(
            f"{hyp_path}: hypothesis id {extra[0]!r} is not in the reference {ref_path} "
            f"({len(extra)} such ids); hyp and ref must come from the same test set")
    missing = [utt for utt in ref if utt not in hyp]
    if missing:
        logging.warning("%s: %d of %d reference utterances have no hypothesis and are scored as "
                        "empty (first: %s)", hyp_path, len(missing), len(ref),
                        ", ".join(missing[:MAX_IDS_SHOWN]))
    ids = list(ref)
    return [hyp.get(utt, "") for utt in ids], [ref[utt] for utt in ids], missing


# ------------------------------------------------------------------------- scoring

_SPACES = re.compile(r"\s+")


def remove_punctuation(text: str) -> str:
    """Drop every Unicode punctuation character (category P*) and collapse whitespace.

    Unicode categories rather than ``string.punctuation`` because the test
    sets are multilingual (¿, ¡, «», 。 and the like must go too).
    """
    kept = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return _SPACES.sub(" ", kept).strip()


def normalise_lc_rm(text: str) -> str:
    """The ``lc.rm`` condition: lower-cased, punctuation removed."""
    return remove_punctuation(text.lower())


def sacrebleu_score(metric, name: str, hyps: List[str], refs: List[str],
                    signature_suffix: str = "") -> Score:
    result = metric.corpus_score(hyps, [refs])
    # The signature is only known after scoring (it records the number of references).
    return Score(name, round(result.score, 2), str(metric.get_signature()) + signature_suffix)


def score_st(hyps: List[str], refs: List[str]) -> List[Score]:
    """BLEU and chrF, detokenised cased and lower-cased without punctuation (as st.sh)."""
    lc_hyps = [normalise_lc_rm(h) for h in hyps]
    lc_refs = [normalise_lc_rm(r) for r in refs]
    # lowercase=True is a no-op on normalised text but makes the signature say case:lc.
    rm_suffix = "|punct:rm-unicode-P"
    return [
        sacrebleu_score(BLEU(), "BLEU", hyps, refs),
        sacrebleu_score(CHRF(), "chrF", hyps, refs),
        sacrebleu_score(BLEU(lowercase=True), "BLEU_lc.rm", lc_hyps, lc_refs, rm_suffix),
        sacrebleu_score(CHRF(lowercase=True), "chrF_lc.rm", lc_hyps, lc_refs, rm_suffix),
    ]


def error_rate(name: str, hyp_units: List[Sequence[str]], ref_units: List[Sequence[str]],
               signature: str, ref_path: Path) -> Score:
    """Summed edit distance over summed reference length, in percent (corpus-level)."""
    errors = sum(editdistance.eval(h, r) for h, r in zip(hyp_units, ref_units))
    ref_len = sum(len(r) for r in ref_units)
    if ref_len == 0:
        raise ResultsError(f"{ref_path}: every reference is empty after normalisation; "
                           f"{name} is undefined")
    return Score(name, round(100.0 * errors / ref_len, 2), signature, errors, ref_len)


def score_asr(hyps: List[str], refs: List[str], ref_path: Path) -> List[Score]:
    """WER on words and CER on characters (spaces included, as ESPnet's <space> token)."""
    lc_hyps = [normalise_lc_rm(h) for h in hyps]
    lc_refs = [normalise_lc_rm(r) for r in refs]
    common = f"case:lc|punct:rm-unicode-P|editdistance:{importlib.metadata.version('editdistance')}"
    return [
        error_rate("WER", [h.split() for h in lc_hyps], [r.split() for r in lc_refs],
                   f"unit:word|{common}", ref_path),
        error_rate("CER", lc_hyps, lc_refs, f"unit:char(space counted)|{common}", ref_path),
    ]


# --------------------------------------------------------------------- RESULTS.json


def empty_results() -> dict:
    return {"rows": [], "commands": {}}


def load_results(path: Path) -> dict:
    """Read RESULTS.json; a file we cannot parse is never overwritten (it holds other runs)."""
    if not path.exists():
        return empty_results()
    hint = "delete it (it is rebuilt by rescoring) or fix it by hand"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: not valid JSON ({e}); {hint}") from None
    if (not isinstance(data, dict) or not isinstance(data.get("rows", []), list)
            or not isinstance(data.get("commands", {}), dict)
            or not all(isinstance(r, dict) for r in data.get("rows", []))):
        raise ResultsError(f"{path}: not a results file (expected an object with a 'rows' list "
                           f"and a 'commands' object); {hint}")
    data.setdefault("rows", [])
    data.setdefault("commands", {})
    return data


def row_key(row: dict) -> Tuple[str, str, str, str]:
    return row.get("table", MAIN_TABLE), row.get("system"), row.get("test_set"), row.get("metric")


def upsert_rows(results: dict, new_rows: List[dict]) -> None:
    """Replace rows with the same (table, system, test_set, metric) in place; append the others.

    Replacing in place keeps the table order stable across reruns.
    """
    position = {row_key(r): i for i, r in enumerate(results["rows"])}
    for row in new_rows:
        i = position.get(row_key(row))
        if i is None:
            position[row_key(row)] = len(results["rows"])
            results["rows"].append(row)
        else:
            results["rows"][i] = row


def make_rows(scores: List[Score], system: str, test_set: str, task: str, n_utts: int,
              n_missing: int, decode_dir: Optional[str]) -> List[dict]:
    rows = []
    for s in scores:
        row = dict(system=system, test_set=test_set, task=task, metric=s.metric,
                   value=s.value, signature=s.signature, n_utts=n_utts,
                   n_missing=n_missing, decode_dir=decode_dir)
        if s.n_errors is not None:
            row.update(n_errors=s.n_errors, n_ref=s.n_ref)
        rows.append(row)
    return rows


@contextlib.contextmanager
def locked(results_dir: Path) -> Iterator[None]:
    """Serialise read-modify-write of RESULTS.json between scoring jobs run in parallel."""
    results_dir.mkdir(parents=True, exist_ok=True)
    with open(results_dir / f".{RESULTS_JSON}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ------------------------------------------------------------------------- timings


def read_timings(path: Path) -> List[dict]:
    """``stage<TAB>name<TAB>seconds[<TAB>start<TAB>end]`` lines (epoch seconds; blank lines and
    ``#`` comments ignored). With start/end, stages that ran at the same time are recognised."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ResultsError(f"{path}: timings file not found") from None
    timings = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r").split("\t")
        try:
            if len(fields) not in (3, 5):
                raise ValueError
            entry = {"stage": fields[0].strip(), "name": fields[1].strip(), "seconds": float(fields[2])}
            if len(fields) == 5:
                entry["start"], entry["end"] = float(fields[3]), float(fields[4])
        except ValueError:
            raise ResultsError(f"{path}:{lineno}: expected 'stage<TAB>name<TAB>seconds' "
                               f"or 'stage<TAB>name<TAB>seconds<TAB>start<TAB>end', got {line!r}") from None
        timings.append(entry)
    return timings


def wall_seconds(timings: List[dict]) -> float:
    """Wall time of the stages: the union of their intervals where known (stages that ran side
    by side count once), else their sum."""
    if not all("start" in t for t in timings):
        return sum(t["seconds"] for t in timings)
    total, reach = 0.0, float("-inf")
    for start, end in sorted((t["start"], t["end"]) for t in timings):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def ran_beside(timings: List[dict], t: dict) -> str:
    """The stages whose intervals overlap stage t's (by more than a second)."""
    if "start" not in t:
        return ""
    return " ".join(o["stage"] for o in timings if o is not t and "start" in o
                    and min(t["end"], o["end"]) - max(t["start"], o["start"]) > 1.0)


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


# ---------------------------------------------------------------------- RESULTS.md


def md_cell(value) -> str:
    """A table cell: pipes would split the cell, newlines would end the row."""
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def md_table(header: Sequence[str], rows: List[Sequence]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return lines


def joined_distinct(values) -> str:
    """One value, or all distinct ones joined (rows of one system/test set should agree)."""
    distinct = list(dict.fromkeys(md_cell(v) for v in values if v is not None))
    return " / ".join(distinct)


def render_score_table(rows: List[dict]) -> List[str]:
    groups: Dict[Tuple[str, str], List[dict]] = {}
    for row in rows:
        groups.setdefault((row.get("system"), row.get("test_set")), []).append(row)
    extra = [m for m in EXTRA_COLUMNS if any(r.get("metric") == m for r in rows)]
    columns = [*METRIC_COLUMNS, *extra]
    table = []
    for (system, test_set), group in groups.items():
        by_metric = {r.get("metric"): r for r in group}
        values = [md_value(by_metric[m]) if m in by_metric else "" for m in columns]
        scored = [r for r in group if r.get("metric") not in EXTRA_COLUMNS] or group
        table.append([system, test_set, *values,
                      joined_distinct(r.get("n_utts") for r in scored),
                      joined_distinct(r.get("n_missing") for r in scored),
                      joined_distinct(r.get("decode_dir") for r in scored)])
    return md_table(["system", "test set", *columns, "utts", "missing", "decode dir"], table)


def md_value(row: dict) -> str:
    # alignment metrics are fractions and distances below 1: two decimals would hide them
    return f"{row['value']:.3f}" if row.get("metric") in ALIGN_COLUMNS else f"{row['value']:.2f}"


def align_rows(after: Path, before: Path, system: str, test_set: str, table: str) -> List[dict]:
    """MRR and mean OT distance at the layers ``before`` chose, after training (``after``) and
    before it: two select_align_layers layers.json files."""
    try:
        b, a = (json.loads(p.read_text(encoding="utf-8")) for p in (before, after))
        chosen = b["chosen"]
        at = lambda summary, key: sum(r[key] for r in summary["layers"] if r["layer"] in chosen) / len(chosen)  # noqa: E731
        values = {"MRR_sel": at(a, "MRR"), "OT_sel_before": at(b, "ot_distance"), "OT_sel_after": at(a, "ot_distance")}
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError) as e:
        raise ResultsError(f"{after} / {before}: not select_align_layers layers.json files ({e}); "
                           "rerun select_align_layers") from None
    sig = f"select_align_layers on {a.get('data_dir')}, layers {chosen} (chosen before training)"
    return [dict(table=table, system=system, test_set=test_set, task="align", metric=m, value=v, signature=sig,
                 n_utts=a.get("utterances"), n_missing=None, decode_dir=str(after.parent))
            for m, v in values.items()]


def routing_rows(path: Path, system: str, test_set: str, table: str) -> List[dict]:
    """route_acc* rows (percent) from a routing_report routing.json."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        parts = {"route_acc": summary["all"], "route_acc_mono": summary["monolingual"],
                 "route_acc_cs": summary["code_switched"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ResultsError(f"{path}: not a routing_report routing.json ({e}); rerun routing_report") from None
    return [dict(table=table, system=system, test_set=test_set, task="routing", metric=m,
                 value=100.0 * part["accuracy"], signature="routing_report (argmax group vs lang_ali, percent)",
                 n_utts=None, n_missing=None, n_tokens=part["tokens"], decode_dir=str(path.parent))
            for m, part in parts.items() if part.get("accuracy") is not None]


def render_signatures(rows: List[dict]) -> List[str]:
    signatures: Dict[str, List[str]] = {}
    for row in rows:
        sigs = signatures.setdefault(row.get("metric"), [])
        if row.get("signature") not in sigs:
            sigs.append(row.get("signature"))
    known = [m for m in METRIC_COLUMNS if m in signatures] + \
            [m for m in signatures if m not in METRIC_COLUMNS]
    return [f"- {metric}: `{sig}`" for metric in known for sig in signatures[metric]]


def render_commands(commands: Dict[str, str]) -> List[str]:
    lines = []
    for system, command in commands.items():
        lines += [f"### {system}", "", "```sh", command, "```", ""]
    return lines[:-1]


def render_timings(timings: List[dict]) -> List[str]:
    beside = {t["stage"]: ran_beside(timings, t) for t in timings}
    header = ["stage", "name", "seconds", "h:mm:ss"]
    rows = [[t["stage"], t["name"], f"{t['seconds']:.1f}", format_duration(t["seconds"])] for t in timings]
    if any(beside.values()):
        header.append("ran beside stages")
        rows = [row + [beside[t["stage"]]] for row, t in zip(rows, timings)]
    total = wall_seconds(timings)
    label = "**total (wall clock)**" if any(beside.values()) else "**total**"
    rows.append(["", label, f"**{total:.1f}**", f"**{format_duration(total)}**"] + [""] * (len(header) - 4))
    return md_table(header, rows)


def render_markdown(results: dict, results_dir: Path = Path(".")) -> str:
    lines = [f"# {results.get('title') or DEFAULT_TITLE}", ""]
    if results.get("header_note"):
        lines += [results["header_note"].rstrip(), ""]
    rows = results["rows"]
    tables = list(dict.fromkeys([MAIN_TABLE] + [r.get("table", MAIN_TABLE) for r in rows]))
    for name in tables:
        in_table = [r for r in rows if r.get("table", MAIN_TABLE) == name]
        if name != MAIN_TABLE and not in_table:
            continue
        lines += [f"## {name}", ""]
        note = (results.get("table_notes") or {}).get(name)
        if note:
            lines += [note.rstrip(), ""]
        lines += (render_score_table(in_table) if in_table else ["No results scored yet."]) + [""]
    if rows:
        lines += ["## Metric signatures", ""] + render_signatures(rows) + [""]
    if results["commands"]:
        lines += ["## Commands", ""] + render_commands(results["commands"]) + [""]
    if results.get("timings"):
        lines += ["## Wall time per stage", ""] + render_timings(results["timings"]) + [""]
    if results.get("plots"):
        lines += ["## Plots", ""] + render_plots(results["plots"], results_dir) + [""]
    return "\n".join(lines)


def render_plots(plots: List[dict], results_dir: Path) -> List[str]:
    """Links to the run's images (paths relative to RESULTS.md), marking any that are gone."""
    lines = ["Made by this run (relative to this file); TensorBoard: `tensorboard --logdir exp`.", ""]
    for p in plots:
        missing = "" if (results_dir / p["path"]).exists() else " (not found)"
        lines.append(f"- {p['label']}: [{p['path']}]({p['path']}){missing}")
    return lines


def parse_plot(spec: str) -> dict:
    label, sep, path = spec.partition("=")
    if not sep or not label.strip() or not path.strip():
        raise ResultsError(f"--plot {spec!r}: expected LABEL=PATH, e.g. 'routing on test_cs=exp/csst_stageC/images/"
                           "routing_test_cs.png'")
    return {"label": label.strip(), "path": path.strip()}


def format_stdout_table(rows: List[dict]) -> str:
    """The rows just scored, aligned, for the recipe log."""
    header = ["system", "test_set", "metric", "value", "n_utts", "n_missing"]
    body = [[str(r[k]) if k != "value" else f"{r[k]:.2f}" for k in header] for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
                     for line in [header, *body])


# ---------------------------------------------------------------------------- CLI


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
        given = [f"--{a}" for a in (*SCORING_ARGS, "decode_dir", "command", "routing_json", "align_json")
                 if getattr(args, a)]
        if given:
            parser.error(f"--render_only does not score; drop {', '.join(given)}")
        return
    missing = [f"--{a}" for a in SCORING_ARGS if not getattr(args, a)]
    if missing:
        parser.error(f"scoring needs {', '.join(missing)} (or pass --render_only)")
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
    if args.routing_json:
        rows += routing_rows(args.routing_json, args.system, args.test_set, args.table)
    if args.align_json:
        rows += align_rows(args.align_json, args.align_before_json, args.system, args.test_set, args.table)
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
