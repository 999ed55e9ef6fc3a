"""Benchmark: the ASR judge of ASR-BLEU (pretrained Whisper base) in transformers and in CTranslate2.

    python bench/bench_judge.py [--n_utts 40] [--sets s2st_test] [--beam_size 4]

The mini S2ST recipe's stage 10 transcribes every system's vocoded units and both ceilings
with Whisper base, beam 4, 30 s windows (``espnet_csst/scoring/whisper_asr.py``); that was
most of the recipe's time. This measures, in one process and on the same audio, the runtimes
the judge can use: transformers float32 (the reference), CTranslate2 float32 (the same weights
converted once beside the model) and CTranslate2 int8. For each: seconds per utterance (model
loading apart), the speed-up over transformers, how many transcripts are word for word
transformers' ones, and ASR-BLEU / WER against the reference translation.

Needs the mini S2ST recipe's data and packaged Whisper base (``egs2/mini_cs/s2st_lm1``:
``./run.sh --stage 1 --stop_stage 1``, about 1 minute); the audio is the reference English
speech of ``--sets`` (the first ``--n_utts`` of each). Writes the ``judge`` section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from espnet_csst.data.datadir import read_map
from espnet_csst.scoring.asr import load_audio
from espnet_csst.scoring.metrics import asr_scores
from espnet_csst.scoring.results import md_table
from espnet_csst.scoring.whisper_asr import WhisperASR
from results_md import header, write_section

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs2/mini_cs/s2st_lm1"
RUNTIMES = [("transformers", "float32"), ("ctranslate2", "float32"), ("ctranslate2", "int8")]


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=RECIPE / "pretrained/whisper_base")
    p.add_argument("--data", type=Path, default=RECIPE / "data", help="the recipe's Kaldi data dirs")
    p.add_argument("--sets", nargs="+", default=["s2st_test"])
    p.add_argument("--n_utts", type=int, default=40, help="utterances per set")
    p.add_argument("--beam_size", type=int, default=4)
    p.add_argument("--max_tokens_per_second", type=float, default=6.0)
    p.add_argument("--batch_size", type=int, default=8, help="as asr_whisper_decode's default")
    return p


def load_set(data: Path, dset: str, n: int):
    wav_scp, text = data / dset / "wav.scp.en", data / dset / "text.en"
    for f in (wav_scp, text):
        if not f.is_file():
            sys.exit(f"bench_judge: {f} is missing; make it with (cd {RECIPE} && ./run.sh --stage 1 --stop_stage 1)")
    utts = list(read_map(wav_scp).items())[:n]
    ref = read_map(text)
    return [(u, *load_audio(e)) for u, e in utts], {u: ref[u] for u, _ in utts}


def transcribe(judge: WhisperASR, audio, batch_size: int):
    out = []
    for i in range(0, len(audio), batch_size):
        chunk = audio[i: i + batch_size]
        out += judge.transcribe([w for _, w, _ in chunk], [fs for _, _, fs in chunk])
    return out


def main(argv=None):
    args = get_parser().parse_args(argv)
    if not (args.model / "config.json").is_file():
        sys.exit(f"bench_judge: {args.model} is not a Whisper directory; make it with "
                 f"(cd {RECIPE} && ./run.sh --stage 1 --stop_stage 1)")
    audio, refs = [], {}
    for dset in args.sets:
        a, r = load_set(args.data, dset, args.n_utts)
        audio += a
        refs.update(r)
    seconds_audio = sum(len(w) / fs for _, w, fs in audio)
    rows, reference = [], None
    with tempfile.TemporaryDirectory() as tmp:
        ref_path = Path(tmp) / "ref"
        ref_path.write_text("".join(f"{u} {t}\n" for u, t in refs.items()), encoding="utf-8")
        for backend, dtype in RUNTIMES:
            t0 = time.perf_counter()
            judge = WhisperASR(str(args.model), language="en", beam_size=args.beam_size, backend=backend,
                               dtype=dtype, max_tokens_per_second=args.max_tokens_per_second)
            load_s = time.perf_counter() - t0
            transcribe(judge, audio[: args.batch_size], args.batch_size)  # warm-up, not timed
            t0 = time.perf_counter()
            hyps = transcribe(judge, audio, args.batch_size)
            seconds = time.perf_counter() - t0
            hyp_path = Path(tmp) / f"{backend}_{dtype}"
            hyp_path.write_text("".join(f"{u} {h}\n" for (u, _, _), h in zip(audio, hyps)), encoding="utf-8")
            scores = asr_scores(hyp_path, ref_path)
            if reference is None:
                reference = (hyps, seconds)
            same = sum(a == b for a, b in zip(hyps, reference[0]))
            rows.append([f"{backend} {dtype}", f"{load_s:.1f}", f"{seconds / len(audio):.2f}",
                         f"{reference[1] / seconds:.2f}x", f"{same}/{len(audio)}", scores["ASR_BLEU"], scores["WER"]])
            print(rows[-1], flush=True)
            del judge
    lines = header("## ASR judge (Whisper base): transformers against CTranslate2, same weights",
                   "bench_judge.py", argv if argv is not None else sys.argv[1:])
    lines += [f"- audio: the reference English speech of {', '.join(args.sets)} (first {args.n_utts} each: "
              f"{len(audio)} utterances, {seconds_audio:.0f} s), beam {args.beam_size}, at most "
              f"{args.max_tokens_per_second:g} tokens/s, batch {args.batch_size}, 30 s windows",
              "- load: model loading (the first CTranslate2 load also converts it once); s/utt: transcription "
              "after a warm-up batch; same as transformers: transcripts identical word for word", ""]
    lines += md_table(["runtime", "load (s)", "s / utt", "speed-up", "same as transformers", "ASR-BLEU", "WER"], rows)
    print(write_section("judge", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
