#!/usr/bin/env python3
"""Decode speech with a trained CSST model (batched, KV-cached generation).

Arguments and outputs follow ``espnet2.bin.st_inference``::

    <output_dir>/1best_recog/{text,token,token_int,score}   (and 2best_recog/... with --nbest 2)
    <output_dir>/ctc/text        (with --ctc_text true: the CTC head's greedy source transcript)

Unlike st_inference, utterances are decoded in batches (``--batch_size``):
prompts are left-padded so that every utterance's continuation starts at
the same step, and transformers' ``generate`` reuses the KV cache.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from typeguard import typechecked

from espnet2.fileio.datadir_writer import DatadirWriter
from espnet2.torch_utils.device_funcs import to_device
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed
from espnet2.utils import config_argparse
from espnet2.utils.types import str2bool, str2triple_str, str_or_none

from espnet_csst.frontends.feature_cache import check_cached_inputs
from espnet_csst.tasks.csst import CSSTTask
from espnet_csst.utils.fileio import atomic_write_text
from espnet_csst.utils.pretrained import resolve_pretrained


class Speech2Text:
    """Load a trained CSST model and turn waveforms into n-best texts.

    >>> s2t = Speech2Text("exp/csst/config.yaml", "exp/csst/valid.acc.best.pth")
    >>> s2t(waveform)[0]["text"]
    """

    @typechecked
    def __init__(
        self,
        csst_train_config: Union[Path, str],
        csst_model_file: Union[Path, str, None] = None,
        device: str = "cpu",
        dtype: str = "float32",
        task_spec: Optional[str] = None,
        beam_size: int = 1,
        nbest: int = 1,
        maxlen: int = 128,
        length_penalty: float = 1.0,
        use_cache: bool = True,
        no_repeat_ngram_size: int = 0,
    ):
        model, train_args = CSSTTask.build_model_from_file(csst_train_config, csst_model_file, device)
        model.to(dtype=getattr(torch, dtype)).eval()
        self.model, self.train_args = model, train_args
        self.device, self.dtype = device, dtype
        if task_spec is not None:
            train_args.default_task = task_spec
        self.preprocess = CSSTTask.build_preprocess_fn(train_args, False)
        self.collate = CSSTTask.build_collate_fn(train_args, False)
        self.codec = self.preprocess.codec
        self.generate_kwargs = dict(max_new_tokens=maxlen, beam_size=beam_size, nbest=nbest,
                                    length_penalty=length_penalty, use_cache=use_cache,
                                    no_repeat_ngram_size=no_repeat_ngram_size)

    @torch.no_grad()
    def decode_batch(self, batch: Dict[str, torch.Tensor]) -> List[List[Dict[str, Any]]]:
        """A collated batch (speech, prefix, instruction) -> n-best list per utterance."""
        if "prefix" not in batch:
            raise ValueError(
                "no task prompt: give --task_spec (e.g. 'st es en') or a 'task' file in the data"
            )
        batch = to_device(batch, device=self.device)
        if batch["speech"].is_floating_point():
            batch["speech"] = batch["speech"].to(getattr(torch, self.dtype))
        hyps = self.model.generate(
            batch["speech"], batch["speech_lengths"], batch["prefix"], batch["prefix_lengths"],
            batch["instruction"], batch["instruction_lengths"], **self.generate_kwargs,
        )
        out = []
        for nbest in hyps:
            out.append([
                {"text": self.codec.decode(h["token_int"]),
                 "token": self.codec.ids_to_tokens(h["token_int"]),
                 "token_int": h["token_int"], "score": h["score"]}
                for h in nbest
            ])
        return out

    @torch.no_grad()
    def ctc_batch(self, batch: Dict[str, torch.Tensor]) -> List[str]:
        """A collated batch -> the CTC head's greedy transcript per utterance (source vocabulary)."""
        batch = to_device(batch, device=self.device)
        if batch["speech"].is_floating_point():
            batch["speech"] = batch["speech"].to(getattr(torch, self.dtype))
        codec = self.preprocess.codec_for("src_text")
        return [codec.decode(ids) for ids in self.model.ctc_greedy(batch["speech"], batch["speech_lengths"])]

    @functools.cached_property
    def fs(self) -> int:
        """The sample rate the model was trained on (its frontend's ``fs``; 16 kHz by default)."""
        from espnet2.utils.types import humanfriendly_parse_size_or_none

        fs = (getattr(self.train_args, "frontend_conf", None) or {}).get("fs", 16000)
        return int(humanfriendly_parse_size_or_none(fs) if isinstance(fs, str) else fs)

    def batch(self, speeches: Sequence[Union[np.ndarray, torch.Tensor]],
              fs: Optional[int] = None) -> List[List[Dict[str, Any]]]:
        """n-best lists of several waveforms (mono, or ``(samples, channels)`` averaged), at ``fs`` Hz
        (default: the model's rate; other rates are resampled)."""
        from espnet_csst.units.audio import resample_to, to_mono_float32

        items = []
        for k, s in enumerate(speeches):
            s = s.detach().cpu().numpy() if isinstance(s, torch.Tensor) else np.asarray(s)
            if fs is not None and int(fs) != self.fs:
                s = resample_to(to_mono_float32(s), int(fs), self.fs)
            items.append((f"utt{k}", self.preprocess(f"utt{k}", {"speech": s})))
        _, batch = self.collate(items)
        return self.decode_batch(batch)

    def __call__(self, speech: Union[np.ndarray, torch.Tensor], fs: Optional[int] = None) -> List[Dict[str, Any]]:
        return self.batch([speech], fs)[0]

    @classmethod
    def from_pretrained(cls, model: Union[str, Path], cache_dir: Union[str, Path, None] = None,
                        **kwargs) -> "Speech2Text":
        """Load a packed model: the zip of ``pack_csst`` (the recipe's pack stage), a directory with its
        files (``meta.yaml`` at the top, as the zip unzipped or an ESPnet model-zoo upload), or a
        Hugging Face hub repo id with that layout (downloaded by huggingface_hub). ``kwargs`` go to
        the constructor (``task_spec``, ``beam_size``, ...)."""
        files = resolve_pretrained(model, ("csst_train_config", "csst_model_file"), cache_dir)
        return cls(files["csst_train_config"], files["csst_model_file"], **kwargs)


def split_batch(batch: Dict[str, torch.Tensor], i: int) -> Dict[str, torch.Tensor]:
    """Utterance ``i`` of a collated batch as a batch of one (padding trimmed by its ``*_lengths``)."""
    out = {}
    for name, value in batch.items():
        if f"{name}_lengths" in batch:
            out[name] = value[i : i + 1, : int(batch[f"{name}_lengths"][i])]
        else:
            out[name] = value[i : i + 1]
    return out


def decode_with_fallback(s2t, keys: Sequence[str], batch: Dict[str, torch.Tensor]):
    """``({key: n-best}, {key: reason})``: the batch at once, or, if that fails, one utterance at a time,
    so that one bad utterance (or a batch too big for memory) costs only itself."""
    try:
        return dict(zip(keys, s2t.decode_batch(batch))), {}
    except Exception as e:  # noqa: BLE001 - any failure of one batch must not stop the others
        logging.warning(f"decoding the batch {list(keys)} failed ({type(e).__name__}: {e}); "
                        "decoding its utterances one by one")
    results, failed = {}, {}
    for i, key in enumerate(keys):
        try:
            results[key] = s2t.decode_batch(split_batch(batch, i))[0]
        except Exception as e:  # noqa: BLE001
            failed[key] = f"{type(e).__name__}: {e}".replace("\n", " ")
            logging.error(f"{key}: decoding failed ({failed[key]}); it gets an empty hypothesis and is listed "
                          "in <output_dir>/failed")
    return results, failed


def ctc_with_fallback(s2t, keys: Sequence[str], batch: Dict[str, torch.Tensor]) -> Dict[str, str]:
    """``{key: CTC transcript}``: the batch at once, or one utterance at a time if that fails (a failed
    utterance gets an empty transcript; the LLM's hypothesis of it is written either way)."""
    try:
        return dict(zip(keys, s2t.ctc_batch(batch)))
    except Exception as e:  # noqa: BLE001 - one bad batch must not stop the others
        logging.warning(f"CTC decoding of the batch {list(keys)} failed ({type(e).__name__}: {e}); "
                        "decoding its utterances one by one")
    texts = {}
    for i, key in enumerate(keys):
        try:
            texts[key] = s2t.ctc_batch(split_batch(batch, i))[0]
        except Exception as e:  # noqa: BLE001
            logging.error(f"{key}: CTC decoding failed ({type(e).__name__}: {e}); its ctc/text line is empty")
            texts[key] = ""
    return texts


def inference(
    output_dir: str,
    batch_size: int,
    dtype: str,
    ngpu: int,
    seed: int,
    num_workers: int,
    log_level: Union[int, str],
    data_path_and_name_and_type: Sequence[tuple],
    key_file: Optional[str],
    csst_train_config: str,
    csst_model_file: Optional[str],
    allow_variable_data_keys: bool,
    task_spec: Optional[str],
    beam_size: int,
    nbest: int,
    maxlen: int,
    length_penalty: float,
    use_cache: bool,
    no_repeat_ngram_size: int,
    ctc_text: bool = False,
):
    logging.basicConfig(level=log_level, format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s")
    if ngpu > 1:
        raise NotImplementedError("decode on one GPU per job; split the data with --key_file for more")
    device = "cuda" if ngpu >= 1 else "cpu"
    set_all_random_seed(seed)
    s2t = Speech2Text(csst_train_config, csst_model_file, device=device, dtype=dtype, task_spec=task_spec,
                      beam_size=beam_size, nbest=nbest, maxlen=maxlen, length_penalty=length_penalty,
                      use_cache=use_cache, no_repeat_ngram_size=no_repeat_ngram_size)
    check_cached_inputs(s2t.model.frontend, data_path_and_name_and_type)  # frames of another frontend: refused
    if ctc_text and s2t.model.ctc is None:
        logging.warning("--ctc_text true, but the model has no CTC head (model_conf.ctc_weight 0): no ctc/text")
        ctc_text = False
    loader = CSSTTask.build_streaming_iterator(
        data_path_and_name_and_type, dtype=dtype, batch_size=batch_size, key_file=key_file,
        num_workers=num_workers, preprocess_fn=s2t.preprocess, collate_fn=s2t.collate,
        allow_variable_data_keys=allow_variable_data_keys, inference=True,
    )
    fs = 16000  # for the RTF log only: the recipes' audio and the frontends' default rate
    start, n_utt, audio_s = time.time(), 0, 0.0
    failed: Dict[str, str] = {}
    empty = {"text": "", "token": [], "token_int": [], "score": float("-inf")}
    with DatadirWriter(output_dir) as writer:
        for keys, batch in loader:
            # cached frontend frames (B, T, D) count at the frontend's frame rate
            rate = getattr(s2t.model.frontend, "frames_per_second", 100) if batch["speech"].dim() == 3 else fs
            audio_s += float(batch["speech_lengths"].sum()) / rate
            results, batch_failed = decode_with_fallback(s2t, keys, batch)
            failed.update(batch_failed)
            ctc = ctc_with_fallback(s2t, keys, batch) if ctc_text else {}
            for key in keys:  # a failed utterance: an empty 1-best, so it is still scored (as a miss)
                for n, hyp in enumerate(results.get(key, [empty]), 1):
                    w = writer[f"{n}best_recog"]
                    w["text"][key] = hyp["text"]
                    w["token"][key] = " ".join(hyp["token"])
                    w["token_int"][key] = " ".join(map(str, hyp["token_int"]))
                    w["score"][key] = str(hyp["score"])
                if ctc_text:
                    writer["ctc"]["text"][key] = ctc[key]
                n_utt += 1
            elapsed = time.time() - start
            logging.info(f"decoded {n_utt} utterances, {audio_s:.1f} s of audio in {elapsed:.1f} s "
                         f"(RTF {elapsed / max(audio_s, 1e-9):.3f})")
    atomic_write_text(Path(output_dir) / "failed", "".join(f"{k} {r}\n" for k, r in failed.items()))
    if failed:
        logging.warning(f"{len(failed)} of {n_utt} utterances failed; listed in {Path(output_dir) / 'failed'}")


def get_parser():
    parser = config_argparse.ArgumentParser(
        description="CSST decoding", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--log_level", type=lambda x: x.upper(), default="INFO",
                        choices=("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"))
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU, 1: one GPU")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=["float16", "bfloat16", "float32", "float64"])
    parser.add_argument("--num_workers", type=int, default=1)

    group = parser.add_argument_group("Input data related")
    group.add_argument("--data_path_and_name_and_type", type=str2triple_str, required=True, action="append")
    group.add_argument("--key_file", type=str_or_none)
    group.add_argument("--allow_variable_data_keys", type=str2bool, default=False)

    group = parser.add_argument_group("The model configuration related")
    group.add_argument("--csst_train_config", "--st_train_config", type=str, required=True)
    group.add_argument("--csst_model_file", "--st_model_file", type=str)

    group = parser.add_argument_group("Decoding related")
    group.add_argument("--task_spec", type=str_or_none, default=None,
                       help="'<task> <src> <tgt>', e.g. 'st es en' (else the data's 'task' file)")
    group.add_argument("--batch_size", type=int, default=16)
    group.add_argument("--beam_size", type=int, default=1, help="1: greedy")
    group.add_argument("--nbest", type=int, default=1)
    group.add_argument("--maxlen", type=int, default=128, help="Maximum number of generated tokens")
    group.add_argument("--length_penalty", type=float, default=1.0)
    group.add_argument("--use_cache", type=str2bool, default=True, help="KV cache in generation")
    group.add_argument("--no_repeat_ngram_size", type=int, default=0,
                       help="Forbid repeating any n-gram of this many tokens (transformers' generate; 0: off)")
    group.add_argument("--ctc_text", type=str2bool, default=False,
                       help="Also write the CTC head's greedy source transcript to <output_dir>/ctc/text")
    return parser


def main(cmd=None):
    print(" ".join(sys.argv), file=sys.stderr)
    args = get_parser().parse_args(cmd)
    kwargs = vars(args)
    kwargs.pop("config", None)
    inference(**kwargs)


if __name__ == "__main__":
    main()
