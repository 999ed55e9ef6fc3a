#!/usr/bin/env python3
"""Turn discrete units into audio with a trained unit vocoder (for ASR-BLEU, DESIGN.md 3.4).

    python -m espnet_csst.bin.unit_vocode --vocoder_dir exp/vocoder \\
        --units exp/s2st/decode_test/units --out_dir exp/s2st/decode_test/vocoded

Reads a Kaldi text file ``utt u1 u2 ...`` and writes ``<out_dir>/wav/<utt>.wav``
(16-bit PCM, ``len(units) * unit_hop`` samples each) and ``<out_dir>/wav.scp``
with absolute paths, in the units file's order. An utterance that cannot be
synthesised (no units, a unit outside the vocoder's range) gets no wav; it is
listed in ``<out_dir>/failed`` as ``<utt> <reason>`` and the others go through.
``--units``/``--out_dir`` repeat in pairs: one process, one vocoder load, many files.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import soundfile
from tqdm import tqdm

from espnet_csst.units.vocoder import UnitVocoder, read_units
from espnet_csst.utils.fileio import atomic_open, atomic_write_text


def split_synthesisable(vocoder: UnitVocoder, units: Dict[str, List[int]]) -> Tuple[List[str], Dict[str, str]]:
    """The utterances the vocoder can take (file order) and ``{utt: reason}`` for the others."""
    ok, failed = [], {}
    for utt, u in units.items():
        try:
            vocoder.check_units(u)
            ok.append(utt)
        except ValueError as e:
            failed[utt] = str(e)
    return ok, failed


def write_wav(path: Path, wav, fs: int) -> None:
    # atomic_open writes a temporary file next to `path` and os.replace()s it on success
    with atomic_open(path, "wb") as f:
        soundfile.write(f, wav, fs, subtype="PCM_16", format="WAV")


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocoder_dir", required=True, type=Path, help="--out_dir of train_unit_vocoder")
    p.add_argument("--units", required=True, type=Path, action="append",
                   help="Kaldi text file 'utt u1 u2 ...'; repeat it (each with its --out_dir) to vocode several "
                        "files with the vocoder loaded once")
    p.add_argument("--out_dir", required=True, type=Path, action="append",
                   help="output directory of the --units in the same position")
    p.add_argument("--batch_size", type=int, default=16, help="utterances per network forward")
    p.add_argument("--n_iter", type=int, default=32, help="Griffin-Lim iterations")
    return p


def main(argv=None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    if args.batch_size < 1 or args.n_iter < 1:
        parser.error("--batch_size and --n_iter must be positive")
    if len(args.units) != len(args.out_dir):
        parser.error(f"give one --out_dir per --units (got {len(args.units)} --units, {len(args.out_dir)} --out_dir)")
    vocoder = UnitVocoder(args.vocoder_dir, n_iter=args.n_iter)
    for units_file, out_dir in zip(args.units, args.out_dir):
        vocode_file(vocoder, units_file, out_dir, args.batch_size)
    return 0


def vocode_file(vocoder: UnitVocoder, units_file: Path, out_dir: Path, batch_size: int) -> None:
    """``out_dir/wav/<utt>.wav``, ``out_dir/wav.scp`` and ``out_dir/failed`` for one units file."""
    units = read_units(units_file)
    ok, failed = split_synthesisable(vocoder, units)
    for utt, reason in failed.items():
        logging.warning(f"{units_file}: {utt}: {reason}; no audio written")

    out_dir = out_dir.resolve()
    wav_dir = out_dir / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    paths: Dict[str, Path] = {}
    with tqdm(total=len(ok), desc="vocoding", unit="utt", disable=None) as bar:
        for k in range(0, len(ok), batch_size):
            keys = ok[k : k + batch_size]
            for utt, wav in zip(keys, vocoder.synthesize([units[u] for u in keys])):
                paths[utt] = wav_dir / f"{utt}.wav"
                write_wav(paths[utt], wav, vocoder.fs)
            bar.update(len(keys))

    atomic_write_text(out_dir / "wav.scp", "".join(f"{u} {paths[u]}\n" for u in units if u in paths))
    atomic_write_text(out_dir / "failed", "".join(f"{u} {r}\n" for u, r in failed.items()))
    logging.info(f"wrote {len(paths)} wavs to {wav_dir} and {out_dir / 'wav.scp'}"
                 + (f"; {len(failed)} utterance(s) failed, listed in {out_dir / 'failed'}" if failed else ""))


if __name__ == "__main__":
    sys.exit(main())
