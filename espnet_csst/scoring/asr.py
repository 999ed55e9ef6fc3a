"""Transcribing audio lists with an ASR judge: the ASR of ASR-BLEU (S2ST) and of forced alignment.

Two judges share this module's batching, failure handling and output format:

* :class:`espnet_csst.scoring.ctc_asr.CTCGreedyASR`: the recipe's own CTC ASR, trained
  on the target speech (``scripts/train_asr.sh``);
* :class:`espnet_csst.scoring.whisper_asr.WhisperASR`: a pretrained Whisper (the imported
  OpenAI Whisper base by default), as the S2ST literature scores ASR-BLEU.

Audio is read with soundfile (``cmd |`` entries through kaldiio), down-mixed to mono;
each judge resamples to its own rate. Output: Kaldi text ``utt hypothesis`` in wav.scp
order, normalised with :func:`normalize_for_asr`. An utterance whose audio cannot be
read, or that the judge cannot take (too short for a CTC encoder, longer than Whisper's
window), is logged, written with an empty hypothesis (a scorer then counts it as wrong
instead of silently skipping it) and listed with the reason in ``OUT.failed``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from espnet_csst.data.datadir import read_map
from espnet_csst.scoring.metrics import normalise_lc_rm
from espnet_csst.units.audio import load_mono
from espnet_csst.utils.fileio import atomic_open


def normalize_for_asr(text: str) -> str:
    """Lower-case, punctuation removed, whitespace collapsed: the text an ASR model learns and outputs.

    It is exactly the ``lc.rm`` condition of ``score_results`` (sacrebleu's
    BLEU_lc.rm), so the ASR's character set, its hypotheses and the ASR-BLEU
    references agree; "sixty-four" becomes "sixtyfour" on every side alike.
    """
    return normalise_lc_rm(text)


def load_audio(entry: str, audio_root: Optional[Path] = None) -> Tuple[np.ndarray, int]:
    """A wav.scp value as (mono float32 samples, its rate); relative paths under ``audio_root``."""
    entry = entry.strip()
    if audio_root is not None and not entry.endswith("|") and not Path(entry).is_absolute():
        entry = str(audio_root / entry)
    return load_mono(entry, fs=None)


class AbsASRJudge(ABC):
    """Waveforms -> normalised transcripts, a batch at a time."""

    #: the judge's sampling rate (input at other rates is resampled)
    fs: int = 16000

    @abstractmethod
    def transcribe_batch(self, waves: Sequence[np.ndarray], fs: Sequence[int]) -> List[Optional[str]]:
        """One transcript (:func:`normalize_for_asr`) per waveform; None for one the judge cannot take."""

    @abstractmethod
    def skip_reason(self, n_samples: int, fs: int) -> str:
        """Why an utterance of this length got None from :meth:`transcribe_batch`."""

    @abstractmethod
    def describe(self) -> str:
        """One line naming the judge, for logs."""

    def transcribe(self, waves: Sequence[np.ndarray], fs) -> List[str]:
        """Transcripts of ``waves`` (``fs``: one rate for all or one per waveform); "" where skipped."""
        rates = [fs] * len(waves) if np.isscalar(fs) else list(fs)
        if len(rates) != len(waves):
            raise ValueError(f"{len(waves)} waveforms but {len(rates)} sampling rates")
        return [t or "" for t in self.transcribe_batch(waves, rates)] if waves else []


def to_mono_at(wav: np.ndarray, fs: int, target_fs: int):
    """float32 mono torch samples at ``target_fs``."""
    import torch

    x = torch.as_tensor(np.asarray(wav, dtype=np.float32))
    if x.ndim == 2:  # (samples, channels), soundfile's layout
        x = x.mean(dim=1)
    if int(fs) != int(target_fs):
        import torchaudio.functional as AF

        x = AF.resample(x, int(fs), int(target_fs))
    return x


# ------------------------------------------------------------------------- audio lists


#: Utterances read ahead and sorted by length before batching: little padding, bounded memory.
SORT_WINDOW_BATCHES = 32


def iter_audio_batches(wav_scp: Dict[str, str], batch_size: int, audio_root: Optional[Path] = None,
                       failed: Optional[Dict[str, str]] = None,
                       keys: Optional[Sequence[str]] = None) -> Iterator[List[Tuple[str, np.ndarray, int]]]:
    """Batches of (utt, samples, fs) of similar length; unreadable utterances go to ``failed``.

    The audio is read a window at a time, so a large wav.scp never sits in memory whole.
    """
    keys = list(wav_scp) if keys is None else list(keys)
    window = batch_size * SORT_WINDOW_BATCHES
    for w in range(0, len(keys), window):
        loaded = []
        for utt in keys[w:w + window]:
            try:
                wav, fs = load_audio(wav_scp[utt], audio_root)
            except Exception as e:
                logging.warning(f"{utt}: {e}")
                if failed is not None:
                    failed[utt] = str(e)
                continue
            loaded.append((utt, wav, fs))
        loaded.sort(key=lambda x: len(x[1]) / x[2])
        for b in range(0, len(loaded), batch_size):
            yield loaded[b:b + batch_size]


def decode_scp(asr: AbsASRJudge, wav_scp: Dict[str, str], batch_size: int,
               audio_root: Optional[Path] = None) -> Tuple[Dict[str, str], Dict[str, str]]:
    """({utt: hypothesis}, {utt: failure reason}) for every utterance of ``wav_scp``."""
    from tqdm import tqdm

    hyps: Dict[str, str] = {}
    failed: Dict[str, str] = {}
    with tqdm(total=len(wav_scp), desc="decoding", unit="utt") as bar:
        for batch in iter_audio_batches(wav_scp, batch_size, audio_root, failed):
            try:
                texts = _transcribe_batch(asr, batch)
            except Exception:
                # One bad utterance must not cost the whole batch: decode them one by one.
                texts = {}
                for item in batch:
                    try:
                        texts.update(_transcribe_batch(asr, [item]))
                    except Exception as e:
                        failed[item[0]] = f"decoding failed: {type(e).__name__}: {e}"
                        logging.warning(f"{item[0]}: {failed[item[0]]}")
            for utt, wav, fs in batch:
                if utt in failed:
                    continue
                if texts[utt] is None:
                    failed[utt] = asr.skip_reason(len(wav), fs)
                    logging.warning(f"{utt}: {failed[utt]}")
                else:
                    hyps[utt] = texts[utt]
            bar.update(len(batch))
        bar.update(len(wav_scp) - bar.n)
    return hyps, failed


def _transcribe_batch(asr: AbsASRJudge, batch: List[Tuple[str, np.ndarray, int]]) -> Dict[str, Optional[str]]:
    texts = asr.transcribe_batch([wav for _, wav, _ in batch], [fs for _, _, fs in batch])
    return {utt: text for (utt, _, _), text in zip(batch, texts)}


def write_outputs(out: Path, utts: Sequence[str], hyps: Dict[str, str], failed: Dict[str, str]) -> None:
    with atomic_open(out) as f:
        for utt in utts:
            text = hyps.get(utt, "")
            f.write(f"{utt} {text}\n" if text else f"{utt}\n")
    with atomic_open(out.with_name(out.name + ".failed")) as f:
        for utt in utts:
            if utt in failed:
                f.write(f"{utt} {failed[utt]}\n")


def normalize_text_file(src: Path, dst: Path) -> Tuple[int, int]:
    """Kaldi text through :func:`normalize_for_asr`; returns (lines written, lines dropped as empty)."""
    kept = dropped = 0
    with atomic_open(dst) as f:
        for utt, text in read_map(src).items():
            norm = normalize_for_asr(text)
            if norm:
                f.write(f"{utt} {norm}\n")
                kept += 1
            else:
                dropped += 1
    return kept, dropped


def read_scp_lists(wav_scps: Sequence[Path], outs: Sequence[Path]) -> List[Tuple[Path, Dict[str, str], Path]]:
    """(scp, {utt: entry}, out) per pair, every list checked before a model is loaded."""
    if len(wav_scps) != len(outs):
        raise ValueError(f"give one --out per --wav_scp (got {len(wav_scps)} --wav_scp, {len(outs)} --out)")
    lists = [(scp, read_map(scp), out) for scp, out in zip(wav_scps, outs)]
    for scp, wav_scp, _ in lists:
        if not wav_scp:
            raise ValueError(f"{scp} is empty; nothing to transcribe")
    return lists


def transcribe_list(asr: AbsASRJudge, scp: Path, wav_scp: Dict[str, str], out: Path, batch_size: int,
                    audio_root: Optional[Path] = None) -> None:
    """Transcribe one wav.scp into OUT (and OUT.failed), logging what failed."""
    logging.info(f"transcribing {len(wav_scp)} utterances of {scp} with {asr.describe()}")
    hyps, failed = decode_scp(asr, wav_scp, batch_size, audio_root)
    write_outputs(out, list(wav_scp), hyps, failed)
    if failed:
        logging.warning(f"{len(failed)} of {len(wav_scp)} utterances failed and were written with an empty "
                        f"hypothesis; reasons in {out}.failed")
    logging.info(f"wrote {out} ({len(wav_scp) - len(failed)} decoded, {len(failed)} failed)")
