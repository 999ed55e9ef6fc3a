#!/usr/bin/env python3
"""Score the S2ST recipe (s2st.sh stage 11): ASR-BLEU, unit accuracy, ceilings, listening page.

For every system and evaluation set it reads what stages 9-10 wrote::

    <sys_dir>/decode_<set>/1best_recog/units   generated target units
    <sys_dir>/decode_<set>/unit_acc            teacher-forced next-unit accuracy of the reference
    <sys_dir>/decode_<set>/synth/asr_text      the ASR judge's transcript of the vocoded units

and scores the transcript against the reference translation with sacrebleu
(ASR-BLEU and chrF, lower-cased without punctuation: the judge's transcripts are
normalised to neither). ``--judge`` names the ASR judge in RESULTS.md (s2st.sh
``--asr_judge``: a pretrained Whisper or the recipe's own CTC ASR).
Two ceilings go through the same scoring:
``<expdir>/reference/<set>/units_vocoded`` (the reference target units through
the vocoder: what the vocoder costs) and ``<expdir>/reference/<set>/audio``
(the reference target speech itself: what the ASR costs).

Writes RESULTS.md and RESULTS.json in ``--results_dir`` (atomically) and a
listening page ``<expdir>/listen/index.html`` (+ ``index.md``) pairing the
audio of a few test utterances with source text, reference and transcripts.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

import editdistance
import yaml

from espnet_csst.scoring.metrics import ResultsError, asr_scores, read_text_file, unit_accuracy
from espnet_csst.scoring.results import format_duration, md_table, read_timings, render_timings, wall_seconds
from espnet_csst.units.vocoder import read_units
from espnet_csst.utils.fileio import atomic_write_text

DEFAULT_JUDGE = "the recipe's English CTC ASR (exp/asr_*)"

SYSTEMS = {
    "a": "a: no interleaving (pure units throughout)",
    "b": "b: interleaving at a constant ratio",
    "c": "c: scheduled interleaving (the method)",
    "d": "d: scheduled interleaving, source side only",
}


def describe(sys_dir: Path) -> str:
    """The interleaving settings a system was trained with, from its config.yaml."""
    conf = yaml.safe_load((sys_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    mc = conf.get("model_conf") or {}
    mode = mc.get("interleave_schedule", "step")
    sides = "+".join(s for s in ("src", "tgt") if mc.get(f"interleave_{s}", True)) or "none"
    if mode == "none":
        return "p = 0"
    if mode == "constant":
        return f"p = {mc.get('interleave_p0', 0.9)} on {sides}"
    return (f"p(t) = max(0, {mc.get('interleave_p0', 0.9)} - {mc.get('interleave_delta', 0.1)} "
            f"floor(t / {mc.get('interleave_interval', 300)})) on {sides}")


def unit_scores(decode: Path, ref_units: Dict[str, List[str]]) -> Dict[str, Optional[float]]:
    out: Dict[str, Optional[float]] = {}
    for key in ("unit_acc", "unit_acc_other_src"):
        acc = unit_accuracy(decode / key)
        if acc is not None:
            out[key] = acc
    hyp = read_units(decode / "1best_recog" / "units")
    errors = sum(editdistance.eval(hyp.get(u, []), r) for u, r in ref_units.items())
    out["UER"] = round(100.0 * errors / max(1, sum(len(r) for r in ref_units.values())), 2)
    out["len_ratio"] = round(sum(len(hyp.get(u, [])) for u in ref_units) / max(1, sum(map(len, ref_units.values()))), 3)
    failed = decode / "failed"
    out["failed"] = len(failed.read_text().split("\n")) - 1 if failed.is_file() and failed.read_text() else 0
    return out


def score_all(args) -> List[dict]:
    rows = []
    sets = [args.valid_set] + args.test_sets
    for dset in sets:
        ref_text = args.units_dump / dset / f"text.{args.tgt_lang}"
        ref_units = read_units(args.units_dump / dset / "tgt_units")
        split = "dev" if dset == args.valid_set else "test"
        for name, sys_dir in args.system:
            decode = sys_dir / f"decode_{dset}"
            row = {"system": SYSTEMS.get(name, name), "key": name, "set": dset, "split": split,
                   "interleaving": describe(sys_dir), "dir": str(decode)}
            seconds = sys_dir / "train_seconds"
            if seconds.is_file():
                row["train_seconds"] = float(seconds.read_text().strip())
            row.update(asr_scores(decode / "synth" / "asr_text", ref_text))
            row.update(unit_scores(decode, ref_units))
            rows.append(row)
        for key, label in (("units_vocoded", "ceiling: reference units -> vocoder -> ASR"),
                           ("audio", "ceiling: reference audio -> ASR")):
            d = args.expdir / "reference" / dset / key
            row = {"system": label, "key": key, "set": dset, "split": split, "dir": str(d)}
            row.update(asr_scores(d / "asr_text", ref_text))
            rows.append(row)
    return rows


def cell(row: dict, key: str):
    v = row.get(key)
    return "" if v is None else v


def render(rows: List[dict], timings: List[dict], command: str, args, judge: str = DEFAULT_JUDGE) -> str:
    lines = ["# S2ST with an LLM over discrete units: scheduled interleaved training", "",
             f"Produced by `{command}`. Per-stage wall times at the end; rerun any stage with "
             "`./run.sh --stage N --stop_stage N`.", "",
             f"ASR-BLEU: {judge} transcribes the vocoded target units; "
             "sacrebleu BLEU / chrF, lower-cased, punctuation removed. unit_acc: teacher-forced next-unit "
             "accuracy on the reference target units (pure units); other src: the same with another "
             "utterance's source units (as high as unit_acc: the unit LM ignores its source). UER: edit "
             "distance of the generated to the reference units. len: generated / reference units. Settings are chosen on dev "
             f"({args.valid_set}), never on test.", ""]
    header = ["system", "interleaving", "set", "ASR-BLEU", "chrF", "unit_acc", "other src", "UER", "len", "n",
              "train s"]
    for split, title in (("test", "Test"), ("dev", "Dev")):
        body = [[r["system"], cell(r, "interleaving"), r["set"], r["ASR_BLEU"], r["ASR_chrF"], cell(r, "unit_acc"),
                 cell(r, "unit_acc_other_src"), cell(r, "UER"), cell(r, "len_ratio"), r["n"], cell(r, "train_seconds")]
                for r in rows if r["split"] == split]
        lines += [f"## {title}", ""] + md_table(header, body) + [""]
    ceil = [[r["system"], r["set"], r["WER"]] for r in rows if r["key"] in ("units_vocoded", "audio")]
    lines += ["WER of the ASR judge on the ceilings' audio against the reference translation:", ""]
    lines += md_table(["audio", "set", "WER"], ceil) + [""]
    sig = next((r["signature"] for r in rows if r.get("signature")), "")
    lines += [f"sacrebleu signature: `{sig}`", "",
              f"Listening page: [{args.expdir}/listen/index.html]({args.expdir}/listen/index.html) "
              f"(also index.md): {args.n_listen} test utterances with source text, reference and transcripts.", ""]
    if timings:
        lines += ["## Wall time per stage", ""] + render_timings(timings) + [""]
    return "\n".join(lines)


def listening_page(args) -> None:
    """exp/listen/index.{html,md}: audio of a few test utterances next to their texts."""
    test = args.test_sets[0]
    out = args.expdir / "listen"
    src = read_text_file(args.data_dir / test / f"text.{args.src_lang}")
    ref = read_text_file(args.units_dump / test / f"text.{args.tgt_lang}")
    ref_dir = args.expdir / "reference" / test
    # (label, audio list, transcripts)
    columns = [("reference audio", args.units_dump / test / "tgt_wav.scp", ref_dir / "audio" / "asr_text"),
               ("reference units -> vocoder", ref_dir / "units_vocoded" / "wav.scp",
                ref_dir / "units_vocoded" / "asr_text")]
    columns += [(SYSTEMS.get(n, n), d / f"decode_{test}" / "synth" / "wav.scp",
                 d / f"decode_{test}" / "synth" / "asr_text") for n, d in args.system]
    loaded = [(label, read_text_file(w) if w.is_file() else {}, read_text_file(t) if t.is_file() else {})
              for label, w, t in columns]

    def link(wavs: Dict[str, str], utt: str) -> Optional[str]:
        path = wavs.get(utt)
        return os.path.relpath(Path(path).resolve(), out.resolve()) if path else None

    md = [f"# Listening check: {test}", ""]
    page = ["<!doctype html><meta charset='utf-8'><title>S2ST listening check</title>",
            f"<h1>Listening check: {html.escape(test)}</h1>"]
    for utt in list(ref)[: args.n_listen]:
        md += [f"## {utt}", "", f"- source ({args.src_lang}): {src.get(utt, '')}", f"- reference: {ref[utt]}", ""]
        md += md_table(["audio", "file", "ASR transcript"],
                       [[label, f"[wav]({link(w, utt)})" if link(w, utt) else "-", t.get(utt, "")]
                        for label, w, t in loaded]) + [""]
        page += [f"<h2>{html.escape(utt)}</h2>",
                 f"<p>source ({args.src_lang}): {html.escape(src.get(utt, ''))}<br>reference: {html.escape(ref[utt])}</p>",
                 "<table border=1 cellpadding=4><tr><th>audio</th><th>listen</th><th>ASR transcript</th></tr>"]
        for label, w, t in loaded:
            rel = link(w, utt)
            player = f"<audio controls preload=none src='{html.escape(rel)}'></audio>" if rel else "-"
            page.append(f"<tr><td>{html.escape(label)}</td><td>{player}</td><td>{html.escape(t.get(utt, ''))}</td></tr>")
        page.append("</table>")
    atomic_write_text(out / "index.md", "\n".join(md) + "\n")
    atomic_write_text(out / "index.html", "\n".join(page) + "\n")


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results_dir", type=Path, default=Path("."))
    p.add_argument("--expdir", type=Path, default=Path("exp"))
    p.add_argument("--units_dump", type=Path, default=Path("dump/units"))
    p.add_argument("--data_dir", type=Path, default=Path("data"))
    p.add_argument("--src_lang", default="es")
    p.add_argument("--tgt_lang", default="en")
    p.add_argument("--valid_set", required=True)
    p.add_argument("--test_sets", nargs="+", required=True)
    p.add_argument("--system", action="append", default=[], type=lambda s: (s.split("=", 1)[0], Path(s.split("=", 1)[1])),
                   help="NAME=DIR of a trained system (a, b, c, d), repeated (required unless --render_only)")
    p.add_argument("--timings", type=Path)
    p.add_argument("--n_listen", type=int, default=6)
    p.add_argument("--command", default="./run.sh")
    p.add_argument("--judge", default=DEFAULT_JUDGE,
                   help="the ASR judge, as RESULTS.md names it (e.g. 'Whisper pretrained/whisper_base, greedy')")
    p.add_argument("--render_only", action="store_true",
                   help="score nothing: rewrite RESULTS.md/json from RESULTS.json's rows with the current --timings "
                        "(s2st.sh runs it after stage 11's clock stops, so the scoring stage's own time is in the table)")
    return p


def render_only(args) -> int:
    path = args.results_dir / "RESULTS.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        rows, command = results["rows"], results["command"]
        judge = results.get("judge", DEFAULT_JUDGE)
    except FileNotFoundError:
        raise SystemExit(f"score_s2st --render_only: {path} does not exist; run the scoring stage (11) first") from None
    except (ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"score_s2st --render_only: {path} is not a RESULTS.json of score_s2st ({e}); "
                         "rerun the scoring stage (11)") from None
    timings = read_timings(args.timings) if args.timings and args.timings.is_file() else []
    write_results(args, rows, timings, command, judge)
    return 0


def write_results(args, rows: List[dict], timings: List[dict], command: str, judge: str) -> None:
    results = {"command": command, "judge": judge, "rows": rows, "timings": timings,
               "total_seconds": wall_seconds(timings) if timings else None}
    atomic_write_text(args.results_dir / "RESULTS.json", json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(args.results_dir / "RESULTS.md", render(rows, timings, command, args, judge))


def main(argv=None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    if args.render_only:
        return render_only(args)
    if not args.system:
        parser.error("give at least one --system NAME=DIR (or --render_only)")
    try:
        rows = score_all(args)
        timings = read_timings(args.timings) if args.timings and args.timings.is_file() else []
    except (ResultsError, FileNotFoundError) as e:
        raise SystemExit(f"score_s2st: {e}; rerun the stage that writes it") from None
    write_results(args, rows, timings, args.command, args.judge)
    if args.n_listen > 0:
        listening_page(args)
    for r in rows:
        print(f"{r['set']:>12}  {r['system']:<48} ASR-BLEU {r['ASR_BLEU']:6.2f}  unit_acc {cell(r, 'unit_acc')}")
    if timings:
        print(f"total wall time {format_duration(wall_seconds(timings))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
