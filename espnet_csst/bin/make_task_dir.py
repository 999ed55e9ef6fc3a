#!/usr/bin/env python3
"""Build one training stage's data directory from dumped data dirs.

    python -m espnet_csst.bin.make_task_dir --task st --tgt_lang en \\
        --out dump/raw/stageB_train dump/raw/train_mono_es

For every utterance it writes ``text`` (what the model must output),
``src_text`` (the source transcript), ``task`` (``"st es en"``: rendered into
the prompt by the preprocessor) and carries over wav.scp, utt2spk, utt2dur,
utt2lang and word_ali. With utt2dur it also writes ``lang_ali``, the spoken
language over time that the MoE projector's language loss learns from:
``<utt> <duration> [<lang> <start> <end>]...``, the whole utterance for a
monolingual one, each aligned word for a code-switched one (``cs``; no spans
without a word_ali). This is also the filter stage: utterances with an
empty text, a language outside ``--languages``, or a duration outside
``[--min_dur, --max_dur]`` are dropped, and every drop is reported with its
reason (and listed in ``<out>/dropped``).
"""

from __future__ import annotations

import argparse
import collections
import logging
import shutil
import sys
from pathlib import Path
from typing import Dict, List, Optional

from espnet_csst.data.datadir import DataDirError, c_sorted, read_lines, read_map, write_spk2utt
from espnet_csst.utils.fileio import atomic_open, replace_dir

CARRIED = ("wav.scp", "utt2spk", "utt2dur", "utt2lang")


def _texts_of(src: Path, lang: str, texts: Dict[str, Dict[str, str]]) -> Dict[str, str]:
    """``text.<lang>`` of ``src`` (empty when absent), read once per input dir."""
    if lang not in texts:
        path = src / f"text.{lang}"
        texts[lang] = read_map(path) if path.is_file() else {}
    return texts[lang]


def collect(src: Path, task: str, tgt_lang: Optional[str], languages, min_dur, max_dur,
            kept: Dict[str, dict], dropped: List[tuple]):
    for name in ("wav.scp", "utt2spk", "utt2lang"):
        if not (src / name).is_file():
            raise DataDirError(f"missing {name}; run the data stages first", src / name)
    if (src / "segments").is_file():
        raise DataDirError("segments are not supported here; extract the segments into "
                           "per-utterance audio in the format stage", src / "segments")
    wav = read_map(src / "wav.scp")
    spk = read_map(src / "utt2spk")
    lang_of = read_map(src / "utt2lang")
    dur = read_map(src / "utt2dur") if (src / "utt2dur").is_file() else {}
    ali: Dict[str, List[str]] = collections.defaultdict(list)
    if (src / "word_ali").is_file():
        for ln in read_lines(src / "word_ali"):
            ali[ln.key].append(ln.value)
    texts: Dict[str, Dict[str, str]] = {}
    for utt in wav:
        lang = lang_of.get(utt)
        if lang is None:
            dropped.append((utt, src, "no utt2lang entry"))
            continue
        if languages and lang not in languages:
            dropped.append((utt, src, f"language {lang!r} not in --languages {' '.join(languages)}"))
            continue
        if utt in dur and not (min_dur <= float(dur[utt]) <= max_dur):
            dropped.append((utt, src, f"duration {dur[utt]} s outside [{min_dur}, {max_dur}]"))
            continue
        source = _texts_of(src, lang, texts).get(utt, "").strip()
        out_lang = lang if task == "asr" else tgt_lang
        target = source if task == "asr" else _texts_of(src, out_lang, texts).get(utt, "").strip()
        if not target:
            dropped.append((utt, src, f"empty or missing text.{out_lang}"))
            continue
        if utt in kept:
            raise DataDirError(f"utterance {utt} appears in two input dirs ({kept[utt]['src']} and {src}); "
                               "ids must be unique across the combined sets", src)
        spec = f"asr {lang} {lang}" if task == "asr" else f"st {lang} {tgt_lang}"
        kept[utt] = {
            "src": src, "wav.scp": wav[utt], "utt2spk": spk.get(utt, utt), "utt2lang": lang,
            "utt2dur": dur.get(utt), "text": target, "src_text": source, "task": spec,
            "word_ali": ali.get(utt, []),
        }


def lang_ali(entry: dict) -> str:
    """``<duration> [<lang> <start> <end>]...`` of one utterance (see the module doc)."""
    spans = []
    if entry["utt2lang"] != "cs":
        spans.append(f"{entry['utt2lang']} 0 {entry['utt2dur']}")
    else:
        for v in entry["word_ali"]:  # "<start> <end> <word> <lang>"
            start, end, _, lang = v.split()
            spans.append(f"{lang} {start} {end}")
    return " ".join([str(entry["utt2dur"])] + spans)


def write(out: Path, kept: Dict[str, dict], dropped: List[tuple]):
    tmp = out.parent / f".{out.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    keys = c_sorted(kept)
    for name in ("wav.scp", "utt2spk", "utt2lang", "text", "src_text", "task"):
        with atomic_open(tmp / name) as f:
            for k in keys:
                f.write(f"{k} {kept[k][name]}\n")
    if all(kept[k]["utt2dur"] is not None for k in keys):
        with atomic_open(tmp / "utt2dur") as f:
            for k in keys:
                f.write(f"{k} {kept[k]['utt2dur']}\n")
    if all(kept[k]["utt2dur"] is not None for k in keys):
        with atomic_open(tmp / "lang_ali") as f:
            for k in keys:
                f.write(f"{k} {lang_ali(kept[k])}\n")
    if any(kept[k]["word_ali"] for k in keys):
        with atomic_open(tmp / "word_ali") as f:
            for k in keys:
                for v in kept[k]["word_ali"]:
                    f.write(f"{k} {v}\n")
    write_spk2utt(tmp / "spk2utt", {k: kept[k]["utt2spk"] for k in keys})
    with atomic_open(tmp / "dropped") as f:
        for utt, src, why in dropped:
            f.write(f"{utt} {src}: {why}\n")
    replace_dir(tmp, out)


def _reason_kind(why: str) -> str:
    """The kind of a drop reason for the summary (the reasons themselves carry values)."""
    kinds = {"empty": "empty text", "language": "language", "duration": "duration", "no": "no utt2lang"}
    return kinds.get(why.split(" ")[0], why)


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=["asr", "st"])
    p.add_argument("--tgt_lang", help="target language of st (e.g. en)")
    p.add_argument("--languages", nargs="*", default=[], help="allowed utt2lang values (empty: any)")
    p.add_argument("--min_dur", type=float, default=0.1)
    p.add_argument("--max_dur", type=float, default=30.0)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("src", nargs="+", type=Path, help="input data dirs")
    return p


def main(argv=None):
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    if args.task == "st" and not args.tgt_lang:
        print("make_task_dir: error: --task st needs --tgt_lang", file=sys.stderr)
        return 2
    kept: Dict[str, dict] = {}
    dropped: List[tuple] = []
    try:
        for src in args.src:
            collect(src, args.task, args.tgt_lang, args.languages, args.min_dur, args.max_dur, kept, dropped)
    except DataDirError as e:
        print(f"make_task_dir: error: {e}", file=sys.stderr)
        return 1
    if not kept:
        print(f"make_task_dir: error: no utterance left for {args.out} "
              f"({len(dropped)} dropped; first reason: {dropped[0][2] if dropped else 'no input'})", file=sys.stderr)
        return 1
    write(args.out, kept, dropped)
    reasons = collections.Counter(_reason_kind(why) for _, _, why in dropped)
    print(f"{args.out}: {len(kept)} utterances ({args.task}{' -> ' + args.tgt_lang if args.tgt_lang else ''}) "
          f"from {' '.join(map(str, args.src))}; dropped {len(dropped)}"
          + (f" ({', '.join(f'{n}: {r}' for r, n in reasons.items())}; see {args.out / 'dropped'})" if dropped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
