#!/usr/bin/env python3
"""Transcribe audio with a CTC-only ESPnet ASR model by greedy CTC decoding (the ASR of ASR-BLEU).

    python -m espnet_csst.bin.asr_ctc_decode --asr_config exp/asr_en/config.yaml \\
        --asr_model exp/asr_en/model.pth --wav_scp exp/s2st/decode_test/wav.scp \\
        --out exp/s2st/decode_test/asr_text [--batch_size 16] [--device cpu]

``--wav_scp``/``--out`` repeat in pairs: several lists are transcribed by one
process that loads the model once (s2st.sh stage 10 transcribes every system's
audio and both ceilings of all sets that way).

    python -m espnet_csst.bin.asr_ctc_decode --normalize_text data/train/text exp/asr_en/data/train/text

The model is the one ``scripts/train_asr.sh`` trains with ESPnet's ASR task
(``ctc_weight: 1.0``, no attention decoder), so decoding is the encoder plus
the CTC layer's arg max per frame; repeats are collapsed and blanks dropped.
Greedy search is what a CTC-only model decodes with in ESPnet too (its beam
search without a decoder or LM gains next to nothing), and it is batched here,
which ESPnet's ``asr_inference`` is not.

Audio is read with soundfile (``cmd |`` entries through kaldiio), down-mixed
to mono and resampled with torchaudio to the model's sampling rate, so
vocoder output at 22.05 or 24 kHz can be scored directly. Output: Kaldi
text ``utt hypothesis`` in wav.scp order. An utterance whose audio cannot be
read, or that is too short for the encoder, is logged, written with an empty
hypothesis (a scorer then counts it as wrong instead of silently skipping it)
and listed with the reason in ``OUT.failed``.

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
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import yaml

from espnet_csst.data.datadir import read_map
from espnet_csst.scoring.metrics import normalise_lc_rm
from espnet_csst.units.audio import load_mono
from espnet_csst.utils.fileio import atomic_open

#: Tokens never written into a hypothesis: they are no characters of the text.
NON_TEXT_TOKENS = ("<blank>", "<unk>", "<sos/eos>")


def normalize_for_asr(text: str) -> str:
    """Lower-case, punctuation removed, whitespace collapsed: the text an ASR model learns and outputs.

    It is exactly the ``lc.rm`` condition of ``score_results`` (sacrebleu's
    BLEU_lc.rm), so the ASR's character set, its hypotheses and the ASR-BLEU
    references agree; "sixty-four" becomes "sixtyfour" on every side alike.
    """
    return normalise_lc_rm(text)


def ctc_greedy_collapse(ids: Sequence[int], blank: int) -> List[int]:
    """CTC's many-to-one map on a frame-level path: merge repeated labels, then drop blanks.

    A blank between two equal labels keeps both (``a _ a`` is "aa", ``a a`` is "a").
    """
    out: List[int] = []
    prev = None
    for i in ids:
        i = int(i)
        if i != prev and i != blank:
            out.append(i)
        prev = i
    return out


# ------------------------------------------------------------------------- audio


def load_audio(entry: str, audio_root: Optional[Path] = None) -> Tuple[np.ndarray, int]:
    """A wav.scp value as (mono float32 samples, its rate); relative paths under ``audio_root``."""
    entry = entry.strip()
    if audio_root is not None and not entry.endswith("|") and not Path(entry).is_absolute():
        entry = str(audio_root / entry)
    return load_mono(entry, fs=None)


# ------------------------------------------------------------------------- model


def _resolve_stats_file(args: dict, config: Path) -> None:
    """Point global_mvn at an existing stats file, or fail naming the fix.

    ESPnet stores the statistics path as given at training time; when the
    experiment directory is read from elsewhere that path may not resolve.
    GlobalMVN reads the file only to initialise buffers that the state dict
    then overwrites, so the copy train_asr.sh keeps next to the config serves
    as well.
    """
    if args.get("normalize") != "global_mvn":
        return
    conf = dict(args.get("normalize_conf") or {})
    given = conf.get("stats_file")
    if given and Path(given).is_file():
        return
    fallback = config.parent / "stats" / "train" / "feats_stats.npz"
    if not fallback.is_file():
        raise FileNotFoundError(
            f"{config}: normalize_conf.stats_file {given!r} does not exist, nor does {fallback}; run from the "
            "directory the model was trained in, or copy the stats dir next to config.yaml")
    conf["stats_file"] = str(fallback)
    args["normalize_conf"] = conf


def build_asr_model(config: Path, model_file: Path, device: str = "cpu"):
    """ESPnet ASR model and its training args from config.yaml and a state dict.

    ESPnet's ``ASRTask.build_model_from_file`` unpickles the whole model file
    and loads it non-strictly; here the weights load as plain tensors
    (weights-only loading) and every parameter must match.
    """
    from espnet2.tasks.asr import ASRTask

    config, model_file = Path(config), Path(model_file)
    for path, what in ((config, "--asr_config (config.yaml of the ASR experiment)"),
                       (model_file, "--asr_model (e.g. exp/asr_en/model.pth)")):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; give {what}")
    with config.open(encoding="utf-8") as f:
        args = yaml.safe_load(f)
    if not isinstance(args, dict) or "token_list" not in args:
        raise ValueError(f"{config} is not an ESPnet ASR training config (no token_list)")
    _resolve_stats_file(args, config)
    train_args = argparse.Namespace(**args)
    model = ASRTask.build_model(train_args)
    try:
        state = torch.load(model_file, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"{model_file}: not a state dict of tensors ({e})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{model_file} does not fit the model of {config}: {str(e).splitlines()[0]}") from None
    return model.to(device).eval(), train_args


def _frontend_fs(train_args: argparse.Namespace) -> int:
    import humanfriendly

    fs = (getattr(train_args, "frontend_conf", None) or {}).get("fs", 16000)
    return int(humanfriendly.parse_size(fs)) if isinstance(fs, str) else int(fs)


def _min_input_samples(model) -> int:
    """Fewest samples the encoder's subsampling accepts (ESPnet's own check_short_utt rule)."""
    from espnet.nets.pytorch_backend.transformer.subsampling import check_short_utt

    embed = getattr(model.encoder, "embed", None)
    hop = getattr(model.frontend, "hop_length", None)
    if embed is None or hop is None:
        return 1
    too_short, min_frames = check_short_utt(embed, 0)
    # a centred STFT gives 1 + samples // hop frames
    return max(1, (min_frames - 1) * int(hop)) if too_short else 1


class CTCGreedyASR:
    """A trained CTC ASR model as a function from waveforms to text (and to CTC log-probabilities)."""

    def __init__(self, model, train_args: argparse.Namespace, device: str = "cpu"):
        from espnet2.text.build_tokenizer import build_tokenizer

        if getattr(model, "ctc", None) is None:
            raise ValueError("the ASR model has no CTC layer; train it with ctc_weight > 0")
        self.model = model
        self.train_args = train_args
        self.device = device
        self.token_list: List[str] = list(train_args.token_list)
        self.blank = self.token_list.index("<blank>") if "<blank>" in self.token_list else 0
        self.fs = _frontend_fs(train_args)
        self.tokenizer = build_tokenizer(
            token_type=train_args.token_type,
            bpemodel=getattr(train_args, "bpemodel", None),
            non_linguistic_symbols=getattr(train_args, "non_linguistic_symbols", None),
        )
        self._skip_ids = {i for i, t in enumerate(self.token_list) if t in NON_TEXT_TOKENS}
        self.min_samples = _min_input_samples(model)

    @classmethod
    def from_files(cls, config, model, device: str = "cpu") -> "CTCGreedyASR":
        asr_model, train_args = build_asr_model(Path(config), Path(model), device)
        return cls(asr_model, train_args, device)

    def _prepare(self, wav: np.ndarray, fs: int) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(wav, dtype=np.float32))
        if x.ndim == 2:  # (samples, channels), soundfile's layout
            x = x.mean(dim=1)
        if int(fs) != self.fs:
            import torchaudio.functional as AF

            x = AF.resample(x, int(fs), self.fs)
        return x

    @torch.no_grad()
    def ctc_log_probs(self, waves: Sequence[np.ndarray], fs) -> List[torch.Tensor]:
        """Per waveform, the CTC log-probabilities (frames, vocabulary) on the CPU.

        ``fs`` is one rate for all or one per waveform. An utterance too short
        for the encoder's subsampling gets zero frames.
        """
        rates = [fs] * len(waves) if np.isscalar(fs) else list(fs)
        if len(rates) != len(waves):
            raise ValueError(f"{len(waves)} waveforms but {len(rates)} sampling rates")
        if not waves:
            return []
        xs = [self._prepare(w, r) for w, r in zip(waves, rates)]
        # In a padded batch ESPnet's subsampling masks still give a too-short utterance a frame
        # of padding; such utterances are answered with no frames instead.
        ok = [i for i, x in enumerate(xs) if len(x) >= self.min_samples]
        out = [torch.zeros(0, len(self.token_list)) for _ in xs]
        if not ok:
            return out
        lengths = torch.tensor([len(xs[i]) for i in ok])
        speech = torch.nn.utils.rnn.pad_sequence([xs[i] for i in ok], batch_first=True).to(self.device)
        enc, enc_lens = self.model.encode(speech, lengths.to(self.device))
        logp = self.model.ctc.log_softmax(enc).float().cpu()
        for j, i in enumerate(ok):
            out[i] = logp[j, :max(int(enc_lens[j]), 0)]
        return out

    def ids_to_text(self, ids: Sequence[int]) -> str:
        tokens = [self.token_list[i] for i in ids if i not in self._skip_ids]
        return normalize_for_asr(self.tokenizer.tokens2text(tokens))

    def transcribe(self, waves: Sequence[np.ndarray], fs) -> List[str]:
        """Greedy CTC transcripts, normalised with :func:`normalize_for_asr`."""
        return [self.ids_to_text(ctc_greedy_collapse(lp.argmax(-1).tolist(), self.blank))
                for lp in self.ctc_log_probs(waves, fs)]


# ------------------------------------------------------------------------- decoding


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


def decode_scp(asr: CTCGreedyASR, wav_scp: Dict[str, str], batch_size: int,
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
            for utt, wav, _ in batch:
                if utt in failed:
                    continue
                if texts[utt] is None:
                    failed[utt] = f"audio too short for the encoder ({len(wav)} samples)"
                    logging.warning(f"{utt}: {failed[utt]}")
                else:
                    hyps[utt] = texts[utt]
            bar.update(len(batch))
        bar.update(len(wav_scp) - bar.n)
    return hyps, failed


def _transcribe_batch(asr: CTCGreedyASR, batch: List[Tuple[str, np.ndarray, int]]) -> Dict[str, Optional[str]]:
    """{utt: text}, None for an utterance the encoder left without frames."""
    logps = asr.ctc_log_probs([wav for _, wav, _ in batch], [fs for _, _, fs in batch])
    return {utt: (asr.ids_to_text(ctc_greedy_collapse(lp.argmax(-1).tolist(), asr.blank)) if len(lp) else None)
            for (utt, _, _), lp in zip(batch, logps)}


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
    lists = [(scp, read_map(scp), out) for scp, out in zip(args.wav_scp, args.out)]
    for scp, wav_scp, _ in lists:  # every input checked before the model is loaded
        if not wav_scp:
            raise ValueError(f"{scp} is empty; nothing to transcribe")
    asr = CTCGreedyASR.from_files(args.asr_config, args.asr_model, args.device)
    for scp, wav_scp, out in lists:
        transcribe_list(asr, scp, wav_scp, out, args)
    return 0


def transcribe_list(asr: "CTCGreedyASR", scp: Path, wav_scp: dict, out: Path, args) -> None:
    logging.info(f"transcribing {len(wav_scp)} utterances of {scp} with {args.asr_model} "
                 f"({asr.fs} Hz, {len(asr.token_list)} tokens) on {args.device}")
    hyps, failed = decode_scp(asr, wav_scp, args.batch_size, args.audio_root)
    write_outputs(out, list(wav_scp), hyps, failed)
    if failed:
        logging.warning(f"{len(failed)} of {len(wav_scp)} utterances failed and were written with an empty "
                        f"hypothesis; reasons in {out}.failed")
    logging.info(f"wrote {out} ({len(wav_scp) - len(failed)} decoded, {len(failed)} failed)")


if __name__ == "__main__":
    sys.exit(main())
