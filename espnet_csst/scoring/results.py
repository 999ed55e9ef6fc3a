"""A recipe's RESULTS.json / RESULTS.md: score rows, stage timings, plots, and their rendering.

Each scored (table, system, test_set, metric) replaces its earlier row in
RESULTS.json, other rows are kept, and RESULTS.md is regenerated from the
whole file, so one results directory collects every system and test set.
Rows of a table other than the main "Scores" one (an ablation, say) get
their own section of RESULTS.md; routing accuracies (``route_acc*``) and
speech-text alignment (``MRR_sel``, ``OT_sel_*``) are extra columns shown
when a table has them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from espnet_csst.scoring.metrics import MAIN_TABLE, ResultsError, Score
from espnet_csst.scoring.significance import ALPHA, N_SAMPLES, mean_and_std, significance_of

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


def row_key(row: dict) -> Tuple[str, str, str, str, Optional[int]]:
    """A row's identity; ``seed`` is None for a system trained once."""
    return row.get("table", MAIN_TABLE), row.get("system"), row.get("test_set"), row.get("metric"), row.get("seed")


def upsert_rows(results: dict, new_rows: List[dict]) -> None:
    """Replace rows with the same (table, system, test_set, metric) in place; append the others.

    Replacing in place keeps the table order stable across reruns. A system scored per seed
    replaces its rows scored without a seed, and the other way round: a mean over seeds must not
    take in an older run of unknown seed.
    """
    seeded = {row_key(r)[:4]: r.get("seed") is not None for r in new_rows}
    results["rows"] = [r for r in results["rows"]
                       if seeded.get(row_key(r)[:4], r.get("seed") is not None) == (r.get("seed") is not None)]
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


def render_score_table(rows: List[dict], results: Optional[dict] = None) -> List[str]:
    if any(r.get("seed") is not None for r in rows):
        return render_seed_table(rows, results or {})
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


def render_seed_table(rows: List[dict], results: dict) -> List[str]:
    """One line per (system, test set) over its seeds: mean +- sample std of each metric, the seeds,
    and, for a system with a baseline, the pooled BLEU difference and the paired bootstrap p-value
    (``*``: p < 0.05)."""
    groups: Dict[Tuple[str, str], List[dict]] = {}
    for row in rows:
        groups.setdefault((row.get("system"), row.get("test_set")), []).append(row)
    extra = [m for m in EXTRA_COLUMNS if any(r.get("metric") == m for r in rows)]
    columns = [*METRIC_COLUMNS, *extra]
    table_name = rows[0].get("table", MAIN_TABLE)
    baselines = (results.get("baselines") or {}).get(table_name, {})
    table = []
    for (system, test_set), group in groups.items():
        cells = []
        for m in columns:
            vals = [r["value"] for r in group if r.get("metric") == m]
            cells.append(format_mean_std(vals, m) if vals else "")
        seeds = sorted({r["seed"] for r in group if r.get("seed") is not None})
        sig = significance_of(results, table_name, system, test_set)
        if sig is not None:
            mark = " *" if sig["p_value"] < ALPHA else ""
            versus = [sig["baseline"], f"{sig['delta_pooled']:+.2f}{mark}", f"{sig['p_value']:.3f}"]
        else:
            versus = [baselines.get(system, ""), "", ""]
        scored = [r for r in group if r.get("metric") not in EXTRA_COLUMNS] or group
        table.append([system, test_set, *cells, " ".join(map(str, seeds)), *versus,
                      joined_distinct(r.get("n_utts") for r in scored),
                      joined_distinct(r.get("n_missing") for r in scored),
                      joined_distinct(r.get("decode_dir") for r in scored)])
    return [SEED_TABLE_NOTE, ""] + md_table(["system", "test set", *columns, "seeds", "baseline",
                                             "ΔBLEU vs baseline", "p", "utts", "missing", "decode dir"], table)


def format_mean_std(values: List[float], metric: str) -> str:
    digits = 3 if metric in ALIGN_COLUMNS else 2
    mean, std = mean_and_std(values)
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


SEED_TABLE_NOTE = (f"Rows over seeds: mean ± sample standard deviation of the seeds' scores. ΔBLEU: the "
                   f"system's BLEU minus its baseline's on the seeds both have, hypotheses pooled over those "
                   f"seeds; p: sacrebleu's paired bootstrap resampling ({N_SAMPLES} resamples, two-sided) on "
                   f"the pooled (seed, utterance) pairs; * marks p < {ALPHA}.")


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
        lines += (render_score_table(in_table, results) if in_table else ["No results scored yet."]) + [""]
    if rows:
        tests = list(dict.fromkeys(e["signature"] for e in results.get("significance") or []))
        lines += ["## Metric signatures", ""] + render_signatures(rows) + \
            [f"- significance: `{sig}`" for sig in tests] + [""]
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
