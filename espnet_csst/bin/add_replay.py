#!/usr/bin/env python3
"""Mix the previous training stage's data into a stage's data dir for the transition loss.

    python -m espnet_csst.bin.add_replay --replay dump/raw/stageA_current --ratio 0.5 \\
        --out dump/raw/stageB_train dump/raw/stageB_current

The output holds every utterance of the current dir plus ``ratio`` times as
many utterances drawn (without replacement, seeded) from the replay dir, each
renamed ``replay-<utt>`` (the same recording is often in both stages, e.g. as
ASR in stage A and as ST in stage B), and a ``replay`` file (``<utt> 0|1``)
that the model reads to weight the replayed utterances by the transition
schedule (``espnet_csst/losses/transition.py``). The files of the output are
those both inputs have; the others are reported and left out.
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import sys
from pathlib import Path
from typing import Dict

from espnet_csst.data.datadir import DataDirError, c_sorted, read_map, write_spk2utt
from espnet_csst.utils.fileio import atomic_open, replace_dir

# per-utterance one-line files of a task dir (make_task_dir); utt2spk is rebuilt into spk2utt
FILES = ("wav.scp", "text", "src_text", "task", "utt2spk", "utt2lang", "utt2dur", "lang_ali")
REPLAY_PREFIX = "replay-"


def read_dir(d: Path, names) -> Dict[str, Dict[str, str]]:
    if not (d / "wav.scp").is_file():
        raise DataDirError("not a data dir (no wav.scp); build it with make_task_dir first", d / "wav.scp")
    return {name: read_map(d / name) for name in names}


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replay", required=True, type=Path, help="the previous stage's (current) data dir")
    p.add_argument("--ratio", type=float, default=0.5,
                   help="replayed utterances per current utterance (capped by what the replay dir has)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("current", type=Path, help="this stage's data dir")
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    if args.ratio <= 0:
        print(f"add_replay: error: --ratio must be > 0, got {args.ratio}", file=sys.stderr)
        return 2
    present = [n for n in FILES if (args.current / n).is_file() and (args.replay / n).is_file()]
    left_out = [n for n in FILES if n not in present and ((args.current / n).is_file() or (args.replay / n).is_file())]
    for required in ("wav.scp", "text", "task"):
        if required not in present:
            print(f"add_replay: error: {required} is missing in {args.current} or {args.replay}", file=sys.stderr)
            return 1
    try:
        cur, rep = read_dir(args.current, present), read_dir(args.replay, present)
    except DataDirError as e:
        print(f"add_replay: error: {e}", file=sys.stderr)
        return 1
    clash = [u for u in cur["wav.scp"] if u.startswith(REPLAY_PREFIX)]
    if clash:
        print(f"add_replay: error: {args.current} already has replayed utterances ({clash[0]}); "
              "give the stage's own data dir", file=sys.stderr)
        return 1
    pool = c_sorted(rep["wav.scp"])
    n = min(len(pool), round(args.ratio * len(cur["wav.scp"])))
    chosen = set(random.Random(args.seed).sample(pool, n))

    rows: Dict[str, Dict[str, str]] = {name: dict(cur[name]) for name in present}
    flags = {u: "0" for u in cur["wav.scp"]}
    for u in c_sorted(chosen):
        new = REPLAY_PREFIX + u
        for name in present:
            if u not in rep[name]:
                print(f"add_replay: error: {args.replay / name} has no line for {u}; every file of a "
                      "data dir must cover all its utterances (rebuild it with make_task_dir)", file=sys.stderr)
                return 1
            value = rep[name][u]
            rows[name][new] = REPLAY_PREFIX + value if name == "utt2spk" else value
        flags[new] = "1"

    tmp = args.out.parent / f".{args.out.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    keys = c_sorted(flags)
    for name in present + ["replay"]:
        table = flags if name == "replay" else rows[name]
        with atomic_open(tmp / name) as f:
            for k in keys:
                if k in table:
                    f.write(f"{k} {table[k]}\n")
    if "utt2spk" in present:
        write_spk2utt(tmp / "spk2utt", rows["utt2spk"])
    replace_dir(tmp, args.out)
    print(f"{args.out}: {len(cur['wav.scp'])} utterances of {args.current} + {n} replayed from {args.replay}"
          f" (ratio {args.ratio}, seed {args.seed})"
          + (f"; left out {', '.join(left_out)} (not in both dirs)" if left_out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
