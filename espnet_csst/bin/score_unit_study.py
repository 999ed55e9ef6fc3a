#!/usr/bin/env python3
"""Compare unit inventories on dev (issue 22 item 2; ``local/choose_units.sh`` of the mini S2ST recipe).

Each candidate is one run of s2st.sh stages 4-6 (k-means, unit dump, vocoder) with its own
``--expdir`` and ``--dumpdir``, followed by the reference dev units through that vocoder and the
ASR judge. For every candidate this reads::

    <expdir>/units/kmeans.npz                                 the features and K
    <expdir>/units/src_kmeans.npz                             (optional) the source's own inventory
    <dumpdir>/units/<set>/{tgt_units,unit_hop,text.<tgt>}     the reference units and translation
    <dumpdir>/units/<set>/raw/tgt_word_frames                 the words' unit spans
    <dumpdir>/units/<set>/{src_units,raw/src_word_frames}     (optional) the same on the source side
    <expdir>/reference/<set>/units_vocoded/asr_text           the judge's transcripts
    <expdir>/unit_lm_<sys>/decode_<set>/unit_acc              (optional) a trained unit LM's accuracy
    <expdir>/unit_lm_<sys>/decode_<set>/unit_acc_other_src    (optional) the same with other sources
    <expdir>/unit_lm_<sys>/decode_<set>/synth/asr_text        (optional) the judge on its decoded units
    <expdir>/stage_times.tsv                                  seconds of stages 4-6

and writes one markdown table and its JSON (atomically): the resynthesis ceiling (ASR-BLEU, chrF,
WER of the reference units -> vocoder -> judge), frames per unit run, the word consistency of the
units (``espnet_csst.units.stats``), the unit LM's teacher-forced accuracy and ASR-BLEU when one
was trained, and the cost.

    python -m espnet_csst.bin.score_unit_study --candidate mfcc_k200 exp/unit_study/mfcc_k200 \\
        dump/unit_study/mfcc_k200 --set s2st_dev --tgt_lang en --out exp/unit_study/results.md
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from espnet_csst.scoring.metrics import ResultsError, asr_scores, unit_accuracy
from espnet_csst.scoring.results import md_table, read_timings
from espnet_csst.units.kmeans import load_kmeans
from espnet_csst.data.datadir import read_map
from espnet_csst.units.audio import FEATURE_FS
from espnet_csst.units.stats import mean_run_length, word_consistency, word_occurrences
from espnet_csst.units.vocoder import read_units
from espnet_csst.utils.fileio import atomic_write_text

STUDY_STAGES = {"4", "5", "6"}  # k-means, unit dump, vocoder: what a candidate costs to make


def describe_features(conf: dict) -> str:
    """``mfcc, stack 4`` / ``whisper layer 4, stack 2`` from the k-means model's feature config."""
    kind = conf.get("kind", "?")
    parts = [kind + (f" layer {conf['layer']}" if "layer" in conf else "")]
    if "stack" in conf:
        parts.append(f"stack {conf['stack']}")
    return ", ".join(parts)


def source_inventory(expdir: Path) -> str:
    """The source's own units (``src_kmeans.npz``, s2st.sh --src_n_units) or "shared"."""
    path = expdir / "units" / "src_kmeans.npz"
    if not path.is_file():
        return "shared"
    centroids, conf = load_kmeans(path)
    return f"{describe_features(conf)}, K {len(centroids)}"


def stage_seconds(expdir: Path) -> Optional[float]:
    timings = read_timings(expdir / "stage_times.tsv")
    picked = [t["seconds"] for t in timings if str(t.get("stage")) in STUDY_STAGES]
    return round(sum(picked), 1) if picked else None


def score_candidate(name: str, expdir: Path, dumpdir: Path, dset: str, tgt_lang: str, unit_lm_system: str) -> dict:
    kmeans = expdir / "units" / "kmeans.npz"
    if not kmeans.is_file():
        raise ResultsError(f"candidate {name}: {kmeans} is missing; run local/choose_units.sh for it first")
    centroids, feature_conf = load_kmeans(kmeans)
    set_dir = dumpdir / "units" / dset
    units = read_units(set_dir / "tgt_units")
    hop_s = int((set_dir / "unit_hop").read_text().strip()) / FEATURE_FS  # unit_hop: samples at 16 kHz
    occurrences = word_occurrences(units, read_map(set_dir / "raw" / "tgt_word_frames"))
    consistency, n_pairs = word_consistency(occurrences)
    row = {"candidate": name, "features": describe_features(feature_conf), "K": int(len(centroids)),
           "src_units": source_inventory(expdir),
           "unit_ms": round(1000 * hop_s), "frames_per_run": round(mean_run_length(units), 2),
           "word_edit": round(consistency, 3), "word_pairs": n_pairs, "set": dset,
           "seconds": stage_seconds(expdir)}
    ceiling = asr_scores(expdir / "reference" / dset / "units_vocoded" / "asr_text", set_dir / f"text.{tgt_lang}")
    row.update({"ceiling_" + k: v for k, v in ceiling.items()})
    # the source speech has many voices (the mini corpus: 16), the target one: how alike a source
    # word's units are across occurrences says how much the voice changes them
    row["src_word_edit"], row["src_word_pairs"] = None, 0
    src_frames = set_dir / "raw" / "src_word_frames"
    if src_frames.is_file() and (set_dir / "src_units").is_file():
        src_edit, row["src_word_pairs"] = word_consistency(
            word_occurrences(read_units(set_dir / "src_units"), read_map(src_frames)))
        row["src_word_edit"] = round(src_edit, 3) if row["src_word_pairs"] else None
    decode = expdir / f"unit_lm_{unit_lm_system}" / f"decode_{dset}"
    row["unit_acc"] = unit_accuracy(decode / "unit_acc")
    row["unit_acc_other_src"] = unit_accuracy(decode / "unit_acc_other_src")
    row["system_ASR_BLEU"] = None
    if (decode / "synth" / "asr_text").is_file():
        row["system_ASR_BLEU"] = asr_scores(decode / "synth" / "asr_text", set_dir / f"text.{tgt_lang}")["ASR_BLEU"]
    return row


def render(rows: List[dict], unit_lm_system: str, command: str) -> str:
    header = ["candidate", "features", "K", "ms per unit", "source units", "resynthesis ASR-BLEU", "chrF", "WER",
              "frames per run", "word edit distance (pairs)", "source word edit distance (pairs)", f"unit LM {unit_lm_system} unit_acc",
              "other src",
              f"unit LM {unit_lm_system} ASR-BLEU", "stages 4-6 s"]
    body = [[r["candidate"], r["features"], r["K"], r["unit_ms"], r["src_units"], r["ceiling_ASR_BLEU"], r["ceiling_ASR_chrF"],
             r["ceiling_WER"], r["frames_per_run"], f"{r['word_edit']} ({r['word_pairs']})",
             "" if r["src_word_edit"] is None else f"{r['src_word_edit']} ({r['src_word_pairs']})",
             *("" if r[k] is None else r[k] for k in ("unit_acc", "unit_acc_other_src", "system_ASR_BLEU", "seconds"))]
            for r in rows]
    sets = sorted({r["set"] for r in rows})
    lines = [f"# Unit features compared on {', '.join(sets)}", "", f"Command: `{command}`", "",
             "Features, K and ms per unit: the target's units (the source's too where source units say "
             "shared; else the source's own inventory). "
             "Resynthesis: the reference target units of the set through each candidate's vocoder, transcribed "
             "by the ASR judge (ASR-BLEU, chrF lower-cased without punctuation; WER). Word edit distance: "
             "between the deduplicated units of two occurrences of the same word, over the longer one "
             "(0: the same units every time; espnet_csst/units/stats.py); source: the same on the source "
             "speech, whose occurrences are spoken by different voices. unit_acc: teacher-forced "
             "next-unit accuracy of a unit LM trained on the candidate's units (other src: with another "
             "utterance's source units; as high as unit_acc: it ignores its source), and the ASR-BLEU of its "
             "decoded units through the candidate's vocoder (empty: none trained).", ""]
    lines += md_table(header, body)
    if rows:
        lines += ["", f"sacrebleu signature: `{rows[0]['ceiling_signature']}`"]
    return "\n".join(lines) + "\n"


def trained_unit_lm_system(expdirs: List[Path], dset: str) -> str:
    """The first system (a-d) whose unit LM was decoded on ``dset`` in any candidate ("a" if none):
    a study run without --unit_lm_system still reports the unit LMs an earlier call trained."""
    for system in "abcd":
        if any((e / f"unit_lm_{system}" / f"decode_{dset}" / "unit_acc").is_file() for e in expdirs):
            return system
    return "a"


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidate", nargs=3, action="append", required=True, metavar=("NAME", "EXPDIR", "DUMPDIR"),
                   help="a candidate's name and the --expdir and --dumpdir its s2st.sh stages 4-6 wrote (repeat)")
    p.add_argument("--set", default="s2st_dev", help="the set the candidates are compared on (dev)")
    p.add_argument("--tgt_lang", default="en")
    p.add_argument("--unit_lm_system", default="auto",
                   help="whose unit LM to report (a-d); auto: the first system with a decoded unit LM in any candidate")
    p.add_argument("--command", default="", help="the command that made the study, for the table's header")
    p.add_argument("--out", required=True, type=Path, help="markdown table; a .json beside it")
    return p


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (score_unit_study) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    system = args.unit_lm_system
    if system == "auto":
        system = trained_unit_lm_system([Path(e) for _, e, _ in args.candidate], args.set)
    elif system not in ("a", "b", "c", "d"):
        logging.error(f"--unit_lm_system takes a, b, c, d or auto, got {system!r}")
        return 1
    try:
        rows = [score_candidate(name, Path(e), Path(d), args.set, args.tgt_lang, system)
                for name, e, d in args.candidate]
    except (ResultsError, FileNotFoundError, ValueError) as e:
        logging.error(str(e))
        return 1
    table = render(rows, system, args.command or " ".join(sys.argv))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, table)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
