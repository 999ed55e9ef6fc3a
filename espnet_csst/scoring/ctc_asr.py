"""The recipe's own CTC ASR as an ASR judge: greedy CTC decoding of a CTC-only ESPnet ASR model.

The model is the one ``scripts/train_asr.sh`` trains with ESPnet's ASR task
(``ctc_weight: 1.0``, no attention decoder), so decoding is the encoder plus the
CTC layer's arg max per frame; repeats are collapsed and blanks dropped. Greedy
search is what a CTC-only model decodes with in ESPnet too (its beam search without
a decoder or LM gains next to nothing), and it is batched here, which ESPnet's
``asr_inference`` is not. ``ctc_word_align`` reuses its log-probabilities for
forced alignment.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
import yaml

from espnet_csst.scoring.asr import AbsASRJudge, normalize_for_asr, to_mono_at

#: Tokens never written into a hypothesis: they are no characters of the text.
NON_TEXT_TOKENS = ("<blank>", "<unk>", "<sos/eos>")


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


class CTCGreedyASR(AbsASRJudge):
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
        self.name = "model"

    @classmethod
    def from_files(cls, config, model, device: str = "cpu") -> "CTCGreedyASR":
        asr_model, train_args = build_asr_model(Path(config), Path(model), device)
        asr = cls(asr_model, train_args, device)
        asr.name = str(model)
        return asr

    def _prepare(self, wav: np.ndarray, fs: int) -> torch.Tensor:
        return to_mono_at(wav, fs, self.fs)

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

    def transcribe_batch(self, waves: Sequence[np.ndarray], fs: Sequence[int]) -> List[Optional[str]]:
        """Greedy CTC transcripts (:func:`normalize_for_asr`); None for an utterance left without frames."""
        return [self.ids_to_text(ctc_greedy_collapse(lp.argmax(-1).tolist(), self.blank)) if len(lp) else None
                for lp in self.ctc_log_probs(waves, fs)]

    def skip_reason(self, n_samples: int, fs: int) -> str:
        return f"audio too short for the encoder ({n_samples} samples)"

    def describe(self) -> str:
        return f"the CTC ASR {self.name} ({self.fs} Hz, {len(self.token_list)} tokens) on {self.device}"
