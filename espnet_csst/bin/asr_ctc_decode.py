#!/usr/bin/env python3
"""Transcribe audio with a CTC-only ESPnet ASR model by greedy CTC decoding (the ASR of ASR-BLEU).

    python -m espnet_csst.bin.asr_ctc_decode --asr_config exp/asr_en/config.yaml \\
        --asr_model exp/asr_en/model.pth --wav_scp exp/s2st/decode_test/wav.scp \\
        --out exp/s2st/decode_test/asr_text [--batch_size 16] [--device cpu]

``--wav_scp``/``--out`` repeat in pairs: several lists are transcribed by one
process that loads the model once (s2st.sh stage 10 transcribes every system's
audio and both ceilings of all sets that way).

    python -m espnet_csst.bin.asr_ctc_decode --normalize_text data/train/text exp/asr_en/data/train/text

The judge and its decoding: :mod:`espnet_csst.scoring.ctc_asr`; batching, resampling,
failures and the output format: :mod:`espnet_csst.scoring.asr`.

``--normalize_text IN OUT`` writes a Kaldi text file through
:func:`normalize_for_asr`, dropping lines left empty: the training
transcripts, the decoded hypotheses and the ASR-BLEU references all go
through this one function.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from espnet_csst.scoring.asr import normalize_text_file, read_scp_lists, transcribe_list
from espnet_csst.scoring.ctc_asr import CTCGreedyASR


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--asr_config", type=Path, help="config.yaml of the ASR experiment")
    p.add_argument("--asr_model", type=Path, help="model state dict (e.g. exp/asr_en/model.pth)")
    p.add_argument("--wav_scp", type=Path, action="append",
                   help="Kaldi wav.scp of the audio to transcribe; repeat it (each with its --out) to transcribe "
                        "several lists with the model loaded once")
    p.add_argument("--out", type=Path, action="append",
                   help="output Kaldi text of the --wav_scp in the same position; failures go to OUT.failed")
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--audio_root", type=Path, default=None,
                   help="directory relative wav.scp paths are resolved against (default: the working directory)")
    p.add_argument("--normalize_text", nargs=2, type=Path, metavar=("IN", "OUT"),
                   help="only normalise Kaldi text IN into OUT (lines left empty are dropped) and exit")
    return p


def main(argv=None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    if args.normalize_text:
        src, dst = args.normalize_text
        kept, dropped = normalize_text_file(src, dst)
        logging.info(f"normalised {src} -> {dst}: {kept} lines" + (
            f", {dropped} dropped (empty after normalisation)" if dropped else ""))
        return 0
    missing = [o for o in ("asr_config", "asr_model", "wav_scp", "out") if getattr(args, o) is None]
    if missing:
        parser.error("the following arguments are required: " + ", ".join(f"--{o}" for o in missing))
    if args.batch_size < 1:
        parser.error(f"--batch_size must be at least 1, got {args.batch_size}")
    if len(args.wav_scp) != len(args.out):
        parser.error(f"give one --out per --wav_scp (got {len(args.wav_scp)} --wav_scp, {len(args.out)} --out)")
    lists = read_scp_lists(args.wav_scp, args.out)
    asr = CTCGreedyASR.from_files(args.asr_config, args.asr_model, args.device)
    for scp, wav_scp, out in lists:
        transcribe_list(asr, scp, wav_scp, out, args.batch_size, args.audio_root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
