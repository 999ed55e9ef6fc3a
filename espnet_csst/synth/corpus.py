"""Build the mini code-switch corpus: text from a pair grammar, speech from espeak-ng.

The output is a relocatable corpus release, laid out like the real corpora the
recipes prepare::

    OUT/corpus.json                 manifest: options, splits, statistics
    OUT/speakers.tsv                speaker id, pool, espeak variant, pitch, rate
    OUT/data/<split>/               Kaldi data dirs (wav.scp paths relative to OUT)
    OUT/audio/<split>/<utt>.flac    16 kHz mono 16-bit FLAC
    OUT/text/mono.<lang>, parallel.<src>, parallel.<tgt>,  text-only corpus
             parallel_cs.cs, parallel_cs.<tgt>

Determinism: every utterance draws its text from its own ``random.Random``
seeded by ``(seed, split, index)``, texts are generated in one process in a
fixed order, and audio is a pure function of (words, voice); so the output is
byte-identical for the same options whatever ``--nj`` is.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet_csst.data.datadir import UttRecord, WordAli, write_data_dir
from espnet_csst.synth.espeak import ESPEAK_RATE, Espeak, Voice
from espnet_csst.synth.grammar import (
    LanguagePair,
    Word,
    code_mixing_index,
    code_switch,
    get_pair,
    language_segments,
    render,
    switch_points,
)
from espnet_csst.utils.fileio import atomic_open, replace_dir

SAMPLE_RATE = 16000
_LEAD_SILENCE = 0.15  # seconds of silence before the first and after the last word
_SEGMENT_GAP = 0.06  # pause between code-switched language segments
#: share of code-switched utterances whose matrix language is the source language
_SRC_MATRIX_SHARE = 0.7


class CorpusError(ValueError):
    """Bad options for the corpus generator (reported as one line by the CLI)."""


# --------------------------------------------------------------------------
# Speakers: espeak variant x pitch x rate, in disjoint train / dev / test pools
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Speaker:
    spk_id: str
    pool: str  # train, dev, test, or target (the single S2ST target voice)
    variant: str
    pitch: int
    rate: int

    def voice(self, espeak_voice: str) -> Voice:
        return Voice(espeak_voice, self.variant, self.pitch, self.rate)


# Variants differ by pool, so a dev/test speaker never shares a voice with train.
# Only variants whose output is reproducible are used: f2, f3, f5, Alicia,
# sandro, victor and the whisper variants draw time-dependent noise inside
# espeak-ng (measured by synthesising every variant in runs a second apart),
# which would break byte-identical corpora.
_POOL_VARIANTS = {
    "train": ("m1", "m2", "m3", "m4", "f1", "f4", "anika", "steph"),
    "dev": ("m5", "belinda"),
    "test": ("m6", "m7", "Annie", "linda"),
}
_TARGET_VARIANT = "m8"  # the single S2ST target voice, as in CVSS-C
_PITCHES = (38, 62)
_RATES = (150, 168, 182)


def make_speakers() -> List[Speaker]:
    speakers = []
    for pool, variants in _POOL_VARIANTS.items():
        for variant in variants:
            for p, pitch in enumerate(_PITCHES):
                rate = _RATES[(len(speakers) + p) % len(_RATES)]
                speakers.append(
                    Speaker(f"{pool}{len(speakers):02d}", pool, variant, pitch, rate)
                )
    speakers.append(Speaker("target", "target", _TARGET_VARIANT, 50, 165))
    return speakers


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class SplitSpec:
    name: str
    kind: str  # "mono_src", "mono_tgt" (ASR of the target language), "cs", "s2st"
    pool: str
    size: int


@dataclass
class CorpusOptions:
    pair: str = "es-en"
    seed: int = 0
    n_train_asr_en: int = 1000
    n_train_mono: int = 1500
    n_train_cs: Optional[int] = None  # default: a fifth of n_train_mono
    n_dev_mono: int = 100
    n_dev_cs: int = 100
    n_test_mono: int = 150
    n_test_cs: int = 150
    n_s2st_train: int = 600
    n_s2st_dev: int = 50
    n_s2st_test: int = 100
    n_text: int = 20000

    def __post_init__(self):
        if self.n_train_cs is None:
            self.n_train_cs = max(1, self.n_train_mono // 5)
        for name, value in asdict(self).items():
            if name.startswith("n_") and (not isinstance(value, int) or value < 1):
                raise CorpusError(
                    f"--{name} must be a positive integer (got {value}); every split needs "
                    "at least one utterance"
                )

    def splits(self, pair: LanguagePair) -> List[SplitSpec]:
        src, tgt = pair.src_lang, pair.tgt_lang
        return [
            SplitSpec(f"train_asr_{tgt}", "mono_tgt", "train", self.n_train_asr_en),
            SplitSpec(f"train_mono_{src}", "mono_src", "train", self.n_train_mono),
            SplitSpec("train_cs", "cs", "train", self.n_train_cs),
            SplitSpec("dev_mono", "mono_src", "dev", self.n_dev_mono),
            SplitSpec("dev_cs", "cs", "dev", self.n_dev_cs),
            SplitSpec(f"test_mono_{src}", "mono_src", "test", self.n_test_mono),
            SplitSpec("test_cs", "cs", "test", self.n_test_cs),
            SplitSpec("s2st_train", "s2st", "train", self.n_s2st_train),
            SplitSpec("s2st_dev", "s2st", "dev", self.n_s2st_dev),
            SplitSpec("s2st_test", "s2st", "test", self.n_s2st_test),
        ]


# --------------------------------------------------------------------------
# Text: one utterance plan per index, in a fixed order
# --------------------------------------------------------------------------
@dataclass
class UttPlan:
    utt_id: str
    split: str
    kind: str
    speaker: Speaker
    words: List[Word]  # what is spoken (source side)
    translation: str
    lang: str  # utt2lang: source language, or "cs"
    target_words: List[Word] = field(default_factory=list)  # S2ST target speech

    def transcript(self) -> str:
        return " ".join(w.text for w in self.words)


def _plan_utterance(pair, spec, index, seed, speakers, seen) -> UttPlan:
    src, tgt = pair.src_lang, pair.tgt_lang
    for attempt in range(1000):
        rng = random.Random(f"{seed}/{spec.name}/{index}/{attempt}")
        tree = pair.sentence(rng)
        if spec.kind == "mono_tgt":
            words, lang = render(tree, tgt), tgt
        elif spec.kind == "cs":
            matrix, other = (src, tgt) if rng.random() < _SRC_MATRIX_SHARE else (tgt, src)
            words, lang = code_switch(tree, matrix, other, rng), "cs"
            if words is None:
                continue
        else:
            words, lang = render(tree, src), src
        key = (lang, " ".join(w.text for w in words))
        if key in seen:  # keep test/dev sentences out of training and the text corpus
            continue
        seen.add(key)
        speaker = rng.choice(speakers)
        target = render(tree, tgt)
        utt_id = f"{speaker.spk_id}-{spec.name}-{index:06d}"
        return UttPlan(
            utt_id, spec.name, spec.kind, speaker, words, pair.translation(target), lang,
            target_words=target if spec.kind == "s2st" else [],
        )
    raise CorpusError(f"could not draw a new sentence for {spec.name} #{index}")


def plan_corpus(pair: LanguagePair, opts: CorpusOptions) -> Tuple[List[UttPlan], set]:
    """All utterance plans, and the set of (lang, transcript) they use."""
    speakers = make_speakers()
    pools = {p: [s for s in speakers if s.pool == p] for p in ("train", "dev", "test")}
    seen: set = set()
    plans = []
    # dev/test first, so that de-duplication keeps them intact and moves training on
    specs = sorted(opts.splits(pair), key=lambda s: s.pool == "train")
    for spec in specs:
        for i in range(spec.size):
            plans.append(_plan_utterance(pair, spec, i, opts.seed, pools[spec.pool], seen))
    return plans, seen


def text_corpus(pair: LanguagePair, opts: CorpusOptions, seen: set) -> Dict[str, List[str]]:
    """Monolingual text of both languages and translation pairs, for LLM pre-training.

    Sentences of the speech splits (``seen``) are left out, so dev/test
    transcripts never leak into pre-training text.
    """
    src, tgt = pair.src_lang, pair.tgt_lang

    def fresh(kind: str, i: int):
        for attempt in range(100):
            tree = pair.sentence(random.Random(f"{opts.seed}/text-{kind}/{i}/{attempt}"))
            s, t = render(tree, src), render(tree, tgt)
            if (src, pair.transcript(s)) not in seen and (tgt, pair.transcript(t)) not in seen:
                return s, t
        raise CorpusError(f"could not draw a new sentence for the text corpus ({kind} #{i})")

    def fresh_mixed(i: int):
        for attempt in range(100):
            rng = random.Random(f"{opts.seed}/text-cs/{i}/{attempt}")
            tree = pair.sentence(rng)
            matrix, other = (src, tgt) if rng.random() < _SRC_MATRIX_SHARE else (tgt, src)
            words = code_switch(tree, matrix, other, rng)
            if words is not None and ("cs", " ".join(w.text for w in words)) not in seen:
                return words, render(tree, tgt)
        raise CorpusError(f"could not draw a new code-switched sentence for the text corpus (#{i})")

    out: Dict[str, List[str]] = {
        f"mono.{src}": [], f"mono.{tgt}": [], f"parallel.{src}": [], f"parallel.{tgt}": [],
        "parallel_cs.cs": [], f"parallel_cs.{tgt}": [],
    }
    for i in range(opts.n_text):
        out[f"mono.{src}"].append(pair.transcript(fresh("mono-src", i)[0]))
        out[f"mono.{tgt}"].append(pair.transcript(fresh("mono-tgt", i)[1]))
        s, t = fresh("parallel", i)
        out[f"parallel.{src}"].append(pair.transcript(s))
        out[f"parallel.{tgt}"].append(pair.translation(t))
    # code-switched text with translations: a stand-in for what a pretrained
    # multilingual LLM already knows about mixed input
    for i in range(opts.n_text // 4):
        words, t = fresh_mixed(i)
        out["parallel_cs.cs"].append(pair.transcript(words))
        out[f"parallel_cs.{tgt}"].append(pair.translation(t))
    return out


# --------------------------------------------------------------------------
# Speech: one job per audio file, run in worker processes
# --------------------------------------------------------------------------
@dataclass
class SynthJob:
    rel_path: str  # relative to the corpus root
    segments: List[Tuple[str, List[str]]]  # (espeak voice name, words) per language segment
    langs: List[str]  # language tag per word
    voice: Speaker


@dataclass
class SynthResult:
    rel_path: str
    duration: float
    words: List[WordAli]


_ESPEAK: Optional[Espeak] = None
_LIBC = None
_M_PERTURB = -6  # glibc mallopt() option
_NOISE_SEED = 20251122


def _init_worker() -> None:
    """Make espeak-ng deterministic in this worker.

    espeak-ng's output depends on (a) statics that persist across calls (e.g.
    the pitch-flutter index in wavegen, echo buffers) and (b) the content of
    freshly malloc'd memory. So the worker only *initialises* espeak-ng and
    every synthesis call runs in a forked child, a pristine copy (see
    :func:`_synthesize_fresh`); and glibc's malloc perturbation fills new heap
    blocks with a fixed byte, so their content never depends on what the
    process did before; rand() (breath noise) is seeded per call. Measured:
    without these, the same words give
    different audio depending on what was synthesised before.
    """
    global _ESPEAK, _LIBC
    import ctypes

    import scipy.signal  # noqa: F401  (imported once here, not in every child)
    import soundfile  # noqa: F401

    _LIBC = ctypes.CDLL(None)
    _LIBC.mallopt(_M_PERTURB, 0x5A)
    _ESPEAK = Espeak()


def _synthesize_fresh(words: List[str], voice: Voice):
    """``Espeak.synthesize`` in a fork of this worker, so no call sees another's state."""
    import pickle

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: synthesise, report, and exit without cleanup handlers
        os.close(read_fd)
        code = 0
        try:
            _LIBC.srand(_NOISE_SEED)  # breath noise of some variants comes from rand()
            payload = pickle.dumps(("ok", _ESPEAK.synthesize(words, voice)))
        except BaseException as e:  # report any failure to the parent
            payload, code = pickle.dumps(("error", f"{type(e).__name__}: {e}")), 1
        with os.fdopen(write_fd, "wb") as f:
            f.write(payload)
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        payload = f.read()
    os.waitpid(pid, 0)
    status, value = pickle.loads(payload) if payload else ("error", "synthesis process died")
    if status != "ok":
        raise RuntimeError(f"espeak-ng failed on {' '.join(words)!r}: {value}")
    return value


def _resample(audio: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly

    # 22050 -> 16000 = 320/441; polyphase filtering is deterministic
    y = resample_poly(audio.astype(np.float64), 320, 441)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def run_job(job: SynthJob, root: Path) -> SynthResult:
    """Synthesise each language segment with its voice and join them."""
    import soundfile

    lead = int(_LEAD_SILENCE * ESPEAK_RATE)
    gap = int(_SEGMENT_GAP * ESPEAK_RATE)
    pieces: List[np.ndarray] = [np.zeros(lead, np.int16)]
    offset = lead
    spans: List[Tuple[int, int]] = []
    for k, (voice_name, words) in enumerate(job.segments):
        audio, word_spans = _synthesize_fresh(words, job.voice.voice(voice_name))
        # keep only the voiced part of the segment: pauses come from the gaps
        lo, hi = word_spans[0][0], word_spans[-1][1]
        if k > 0:
            pieces.append(np.zeros(gap, np.int16))
            offset += gap
        pieces.append(audio[lo:hi])
        spans.extend((offset + s - lo, offset + e - lo) for s, e in word_spans)
        offset += hi - lo
    pieces.append(np.zeros(lead, np.int16))
    audio16k = _resample(np.concatenate(pieces))
    out = root / job.rel_path
    out.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(out), audio16k, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    duration = len(audio16k) / SAMPLE_RATE
    all_words = [w for _, ws in job.segments for w in ws]
    words = [
        WordAli(round(s / ESPEAK_RATE, 3), min(round(e / ESPEAK_RATE, 3), duration), w, lang)
        for (s, e), w, lang in zip(spans, all_words, job.langs)
    ]
    return SynthResult(job.rel_path, duration, words)


def _run_job_star(args):
    return run_job(*args)


def _jobs_for(plan: UttPlan, pair: LanguagePair, target_speaker: Speaker) -> List[SynthJob]:
    def job(words: Sequence[Word], suffix: str, speaker: Speaker) -> SynthJob:
        segments = [
            (pair.voices[lang], [words[i].text for i in idx])
            for lang, idx in language_segments(words)
        ]
        return SynthJob(
            f"audio/{plan.split}/{plan.utt_id}{suffix}.flac",
            segments, [w.lang for w in words], speaker,
        )

    if plan.kind == "s2st":
        return [
            job(plan.words, f".{pair.src_lang}", plan.speaker),
            job(plan.target_words, f".{pair.tgt_lang}", target_speaker),
        ]
    return [job(plan.words, "", plan.speaker)]


def synthesize_all(jobs: List[SynthJob], root: Path, nj: int) -> Dict[str, SynthResult]:
    from tqdm import tqdm

    args = [(j, root) for j in jobs]
    bar = dict(total=len(jobs), desc="synthesising", unit="utt", mininterval=1.0)
    # Even with nj=1 synthesis runs in a worker: the main process must never
    # load espeak-ng, so that every worker starts from the same state.
    pool = multiprocessing.get_context("fork").Pool(nj, initializer=_init_worker)
    try:
        results = list(tqdm(pool.imap(_run_job_star, args, chunksize=8), **bar))
        pool.close()
    finally:
        pool.terminate()
        pool.join()
    return {r.rel_path: r for r in results}


# --------------------------------------------------------------------------
# Writing the data directories and the statistics
# --------------------------------------------------------------------------
def _records(plans: List[UttPlan], pair: LanguagePair, results, target_speaker):
    src, tgt = pair.src_lang, pair.tgt_lang
    for plan in plans:
        jobs = _jobs_for(plan, pair, target_speaker)
        if plan.kind == "s2st":
            rs = {src: results[jobs[0].rel_path], tgt: results[jobs[1].rel_path]}
            yield UttRecord(
                plan.utt_id, plan.speaker.spk_id,
                texts={src: plan.transcript(), tgt: plan.translation},
                wav={k: r.rel_path for k, r in rs.items()},
                lang=src,
                durations={k: r.duration for k, r in rs.items()},
                word_ali={k: r.words for k, r in rs.items()},
            )
            continue
        r = results[jobs[0].rel_path]
        texts = {plan.lang: plan.transcript()}
        if plan.kind != "mono_tgt":
            texts[tgt] = plan.translation
        yield UttRecord(
            plan.utt_id, plan.speaker.spk_id, texts=texts, wav={"": r.rel_path},
            lang=plan.lang, durations={"": r.duration}, word_ali={"": r.words},
        )


def split_statistics(plans: List[UttPlan], results, pair, target_speaker) -> dict:
    durations, target_durations = [], []
    for plan in plans:
        jobs = _jobs_for(plan, pair, target_speaker)
        durations.append(results[jobs[0].rel_path].duration)
        target_durations.extend(results[j.rel_path].duration for j in jobs[1:])
    words = [p.words for p in plans]
    n_words = sum(len(w) for w in words)
    proportions = {}
    for lang in pair.languages:
        proportions[lang] = round(sum(x.lang == lang for ws in words for x in ws) / n_words, 4)
    return {
        "utterances": len(plans),
        "hours": round(sum(durations) / 3600, 4),  # source speech
        "target_hours": round(sum(target_durations) / 3600, 4),  # S2ST target speech
        "speakers": len({p.speaker.spk_id for p in plans}),
        "words": n_words,
        "cmi": round(float(np.mean([code_mixing_index(w) for w in words])), 2),
        "switch_points_per_utt": round(float(np.mean([switch_points(w) for w in words])), 3),
        "language_proportions": proportions,
    }


def total_audio_hours(stats: Dict[str, dict]) -> float:
    """All synthesised audio: source speech plus S2ST target speech."""
    return sum(s["hours"] + s["target_hours"] for s in stats.values())


def format_summary(stats: Dict[str, dict]) -> str:
    header = f"{'split':<16}{'utts':>7}{'hours':>8}{'spk':>5}{'CMI':>7}{'sw/utt':>8}  languages"
    lines = [header, "-" * len(header)]
    for name, s in stats.items():
        langs = " ".join(f"{k}={v:.2f}" for k, v in s["language_proportions"].items())
        lines.append(
            f"{name:<16}{s['utterances']:>7}{s['hours']:>8.3f}{s['speakers']:>5}"
            f"{s['cmi']:>7.1f}{s['switch_points_per_utt']:>8.2f}  {langs}"
        )
    return "\n".join(lines)


def _prepare_output(out: Path) -> Path:
    """Check ``out`` can be (re)written and return a fresh temporary build dir beside it."""
    if out.exists() and not out.is_dir():
        raise CorpusError(f"--out {out} exists and is not a directory; choose another path")
    if out.is_dir() and any(out.iterdir()) and not (out / "corpus.json").is_file():
        raise CorpusError(
            f"--out {out} is a non-empty directory that is not a mini corpus; "
            "choose an empty or new directory (nothing was written)"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as e:
        raise CorpusError(
            f"--out {out}: cannot write there ({e.strerror}); choose a writable directory"
        ) from None
    return tmp


def build_corpus(out: Path, opts: CorpusOptions, nj: int = 1) -> Dict[str, dict]:
    """Generate the whole corpus into ``out`` (atomically: built beside it, then moved)."""
    from espnet_csst.data.validate import validate

    out = Path(out)
    pair = get_pair(opts.pair) if isinstance(opts.pair, str) else opts.pair
    if nj < 1:
        raise CorpusError(f"--nj must be >= 1 (got {nj})")
    tmp = _prepare_output(out)
    try:
        start = time.time()
        logging.info("drawing sentences (pair %s, seed %d)", pair.name, opts.seed)
        plans, seen = plan_corpus(pair, opts)
        speakers = make_speakers()
        target_speaker = speakers[-1]
        jobs = [j for p in plans for j in _jobs_for(p, pair, target_speaker)]
        logging.info("synthesising %d audio files with %d process(es) into %s", len(jobs), nj, out)
        results = synthesize_all(jobs, tmp, nj)

        stats = {}
        for spec in opts.splits(pair):
            split_plans = [p for p in plans if p.split == spec.name]
            write_data_dir(tmp / "data" / spec.name, _records(split_plans, pair, results, target_speaker))
            stats[spec.name] = split_statistics(split_plans, results, pair, target_speaker)

        for name, lines in text_corpus(pair, opts, seen).items():
            with atomic_open(tmp / "text" / name) as f:
                f.writelines(line + "\n" for line in lines)
        with atomic_open(tmp / "speakers.tsv") as f:
            f.write("speaker\tpool\tvariant\tpitch\trate\n")
            for s in speakers:
                f.write(f"{s.spk_id}\t{s.pool}\t{s.variant or 'default'}\t{s.pitch}\t{s.rate}\n")
        manifest = {
            "generator": "espnet_csst.bin.make_mini_corpus",
            "options": asdict(opts) | {"pair": pair.name},
            "languages": list(pair.languages),
            "sample_rate": SAMPLE_RATE,
            "splits": stats,
            "text_corpus": {"sentences": opts.n_text},
        }
        with atomic_open(tmp / "corpus.json") as f:
            json.dump(manifest, f, indent=2, ensure_ascii=False)
            f.write("\n")

        for spec in opts.splits(pair):
            problems, _ = validate(tmp / "data" / spec.name, audio_root=tmp)
            if problems:
                raise RuntimeError(
                    f"generated split {spec.name} is invalid (a bug): {problems[0]}"
                )
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    elapsed = time.time() - start
    hours = total_audio_hours(stats)
    logging.info(
        "done in %.1f s: %.3f h of audio (%.2f audio hours per wall minute)",
        elapsed, hours, hours / (elapsed / 60),
    )
    return stats
