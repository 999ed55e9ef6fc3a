"""Benchmark: data loading and feature extraction throughput on generated mini-corpus speech.

    python bench/bench_data.py [--n_utts 400]

Generates a small mini corpus (``--n_utts`` Spanish utterances, no download),
prepares it as the recipe does (absolute paths, a task dir, a BPE token list),
and measures, in seconds of audio per wall second:

* loading: ESPnet's data pipeline as CSSTTask trains with it (``ESPnetDataset``
  reading flac + text, the CSST preprocessor's tokenisation and prompts,
  ``CommonCollateFn``) through ``build_streaming_iterator`` with 0 and 2
  DataLoader workers, batches of 12;
* features: ESPnet's ``DefaultFrontend`` (STFT + 40 log-mels, the recipe's) on
  the loaded batches, and the unit extractor's MFCC features
  (``units/features.py``, stack 4) per utterance.

Writes the ``data`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from espnet_csst.bin import copy_data_dir, make_task_dir, make_token_list
from espnet_csst.synth.corpus import CorpusOptions, build_corpus
from espnet_csst.tasks.csst import CSSTTask
from espnet_csst.train.preprocessor import CSSTPreprocessor
from espnet_csst.units.audio import load_mono, read_wav_scp
from espnet_csst.units.features import build_feature_extractor
from results_md import header, write_section


def prepare(work: Path, n_utts: int) -> tuple:
    corpus = work / "corpus"
    sizes = dict(n_train_asr_en=4, n_train_mono=n_utts, n_train_cs=4, n_dev_mono=4, n_dev_cs=4, n_test_mono=4,
                 n_test_cs=4, n_s2st_train=2, n_s2st_dev=2, n_s2st_test=2, n_text=200)
    build_corpus(corpus, CorpusOptions(seed=0, **sizes), nj=2)
    raw = work / "raw"
    assert copy_data_dir.main(["--audio_root", str(corpus), str(corpus / "data" / "train_mono_es"),
                               str(raw / "mono")]) == 0
    assert make_task_dir.main(["--languages", "es", "en", "cs", "--task", "st", "--tgt_lang", "en", "--out",
                               str(raw / "st"), str(raw / "mono")]) == 0
    tokens = work / "tokens"
    assert make_token_list.main(["--token_type", "bpe", "--out", str(tokens), "--vocab_size", "150",
                                 "--languages", "es", "en", "cs", "--kaldi_text", str(raw / "st" / "text"),
                                 "--text", str(corpus / "text" / "parallel.es"),
                                 str(corpus / "text" / "parallel.en")]) == 0
    return raw / "st", tokens


def load_all(data: Path, tokens: Path, num_workers: int, batch_size: int):
    pre = CSSTPreprocessor(train=True, token_type="bpe", token_list=str(tokens / "tokens.txt"),
                           bpemodel=str(tokens / "bpe.model"))
    loader = CSSTTask.build_streaming_iterator(
        [(str(data / "wav.scp"), "speech", "sound"), (str(data / "text"), "text", "text"),
         (str(data / "task"), "task", "text"), (str(data / "src_text"), "src_text", "text")],
        preprocess_fn=pre, collate_fn=CSSTTask.build_collate_fn(argparse.Namespace(), True), batch_size=batch_size,
        dtype="float32",
        num_workers=num_workers)
    start = time.perf_counter()
    batches = [batch for _, batch in loader]
    return time.perf_counter() - start, batches


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n_utts", type=int, default=400)
    p.add_argument("--batch_size", type=int, default=12)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data, tokens = prepare(Path(tmp), args.n_utts)
        entries = read_wav_scp(data / "wav.scp")
        rows = {}
        for workers in (0, 2):
            load_all(data, tokens, workers, args.batch_size)  # warm the page cache and the workers' imports
            seconds, batches = load_all(data, tokens, workers, args.batch_size)
            rows[f"load {workers}"] = seconds
        audio_s = float(sum(b["speech_lengths"].sum() for b in batches)) / 16000
        n = sum(len(b["speech_lengths"]) for b in batches)

        from espnet2.asr.frontend.default import DefaultFrontend

        frontend = DefaultFrontend(fs=16000, n_fft=512, win_length=400, hop_length=160, n_mels=40).eval()
        with torch.no_grad():
            frontend(batches[0]["speech"], batches[0]["speech_lengths"])
            start = time.perf_counter()
            for b in batches:
                frontend(b["speech"], b["speech_lengths"])
            rows["frontend"] = time.perf_counter() - start
        mfcc = build_feature_extractor("mfcc")
        wavs = [load_mono(path, 16000)[0] for _, path in entries]  # (waveform, fs) pairs at 16 kHz
        start = time.perf_counter()
        for w in wavs:
            mfcc(w, 16000)
        rows["mfcc"] = time.perf_counter() - start
    for k, v in rows.items():
        print(f"{k}: {v:.2f} s, {audio_s / v:.0f} audio s per s", flush=True)

    lines = [
        *header("## Data loading and feature extraction", "bench_data.py", sys.argv[1:]),
        f"- data: {n} generated Spanish utterances ({audio_s:.0f} s of audio, flac, 16 kHz) of the mini corpus; "
        f"batches of {args.batch_size}; second pass (page cache warm)",
        "",
        "| stage | wall (s) | audio s / wall s | utterances / s |",
        "|---|---:|---:|---:|",
    ]
    for key, name in (("load 0", "ESPnet data pipeline (IterableESPnetDataset: read, CSST preprocessor, collate), 0 workers"),
                      ("load 2", "ESPnet data pipeline, 2 DataLoader workers"),
                      ("frontend", "ESPnet DefaultFrontend (STFT + 40 log-mels), per batch"),
                      ("mfcc", "unit features: MFCC, stack 4 (units/features.py), per utterance")):
        lines.append(f"| {name} | {rows[key]:.2f} | {audio_s / rows[key]:.0f} | {n / rows[key]:.0f} |")
    print(write_section("data", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
