#!/usr/bin/env python3
"""Translate source speech units into target speech units with a trained unit LM.

Batched, KV-cached generation (transformers' ``generate``), greedy or beam
search, restricted to unit tokens and EOS. Outputs follow
``espnet2.bin.st_inference``'s layout::

    <output_dir>/1best_recog/{units,score}     units: "<utt> u1 u2 ..." (unit indices)
    <output_dir>/unit_acc                      with tgt_units in the data: "<utt> <correct> <total>",
                                               teacher-forced next-unit accuracy of the reference
    <output_dir>/unit_acc_other_src            the same with another utterance's source units (the
                                               batch's previous one): how much of unit_acc the
                                               source explains; a model that ignores its source
                                               scores as well here as in unit_acc

An utterance whose decoding fails is logged, written with no units and listed
in ``<output_dir>/failed``; the others are still decoded.

    python -m espnet_csst.bin.unit_lm_inference --train_config exp/unit_lm/config.yaml \\
        --model_file exp/unit_lm/valid.acc.best.pth \\
        --data_path_and_name_and_type dump/units/s2st_test/src_units,src_units,text_int \\
        --output_dir exp/unit_lm/decode_s2st_test
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from espnet2.fileio.datadir_writer import DatadirWriter
from espnet2.torch_utils.device_funcs import to_device
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed
from espnet2.utils import config_argparse
from espnet2.utils.types import str2bool, str2triple_str, str_or_none

from espnet_csst.tasks.unit_lm import UnitLMTask
from espnet_csst.utils.fileio import atomic_write_text


class Units2Units:
    """Load a trained unit LM and translate unit sequences.

    >>> u2u = Units2Units("exp/unit_lm/config.yaml", "exp/unit_lm/valid.acc.best.pth")
    >>> u2u([12, 12, 7, 30])[0]["units"]
    """

    def __init__(self, train_config: Union[Path, str], model_file: Union[Path, str, None] = None,
                 device: str = "cpu", task_spec: Optional[str] = None, beam_size: int = 1, nbest: int = 1,
                 maxlen: int = 300, maxlenratio: float = 0.0, length_penalty: float = 1.0,
                 use_cache: bool = True):
        model, train_args = UnitLMTask.build_model_from_file(train_config, model_file, device)
        self.model, self.train_args, self.device = model.eval(), train_args, device
        if task_spec is not None:
            train_args.default_task = task_spec
        self.preprocess = UnitLMTask.build_preprocess_fn(train_args, False)
        self.collate = UnitLMTask.build_collate_fn(train_args, False)
        self.maxlen, self.maxlenratio = maxlen, maxlenratio
        self.kwargs = dict(beam_size=beam_size, nbest=nbest, length_penalty=length_penalty, use_cache=use_cache)

    @torch.no_grad()
    def unit_accuracy(self, batch: Dict[str, torch.Tensor]):
        batch = to_device(batch, device=self.device)
        return self.model.unit_accuracy(
            batch["src_units"], batch["src_units_lengths"], batch["tgt_units"], batch["tgt_units_lengths"],
            batch["prefix"], batch["prefix_lengths"], batch["instruction"], batch["instruction_lengths"])

    def unit_accuracy_other_source(self, batch: Dict[str, torch.Tensor]):
        """unit_accuracy with every utterance's source replaced by the batch's previous one (rolled
        by one, lengths with it); None for a batch of one, which has no other source."""
        if batch["src_units"].size(0) < 2:
            return None
        rolled = dict(batch)
        rolled["src_units"] = torch.roll(batch["src_units"], 1, dims=0)
        rolled["src_units_lengths"] = torch.roll(batch["src_units_lengths"], 1, dims=0)
        return self.unit_accuracy(rolled)

    def max_new_tokens(self, src_lengths: torch.Tensor) -> int:
        """--maxlen, or --maxlenratio x the longest source when that is set."""
        if self.maxlenratio > 0:
            return max(1, int(self.maxlenratio * int(src_lengths.max())))
        return self.maxlen

    @torch.no_grad()
    def decode_batch(self, batch: Dict[str, torch.Tensor]) -> List[List[dict]]:
        batch = to_device(batch, device=self.device)
        return self.model.generate(
            batch["src_units"], batch["src_units_lengths"], batch["prefix"], batch["prefix_lengths"],
            batch["instruction"], batch["instruction_lengths"],
            max_new_tokens=self.max_new_tokens(batch["src_units_lengths"]), **self.kwargs)

    def batch(self, unit_seqs: Sequence[Sequence[int]]) -> List[List[dict]]:
        items = [(f"utt{k}", self.preprocess(f"utt{k}", {"src_units": np.asarray(u, dtype=np.int64)}))
                 for k, u in enumerate(unit_seqs)]
        return self.decode_batch(self.collate(items)[1])

    def __call__(self, units: Sequence[int]) -> List[dict]:
        return self.batch([units])[0]


class Speech2Speech:
    """Speech in, translated speech out: the recipe's k-means units of the source waveform, the unit
    LM, and the unit vocoder, in one call.

    >>> s2s = Speech2Speech("exp/unit_lm_c/config.yaml", "exp/unit_lm_c/valid.acc.best.pth",
    ...                     kmeans="exp/units/kmeans.npz", vocoder_dir="exp/vocoder", task_spec="s2st es en")
    >>> wav, fs = s2s(waveform, fs=22050)   # any rate in; the vocoder's rate (16 kHz) out

    A unit LM trained with a source inventory of its own (``--n_src_units``, s2st.sh
    ``--src_n_units``) also needs that k-means: ``src_kmeans="exp/units/src_kmeans.npz"``.

    The source is deduplicated exactly when the vocoder has a duration model: a
    recipe run with ``--dedup true`` trains both on deduplicated units.
    """

    def __init__(self, train_config: Union[Path, str], model_file: Union[Path, str, None], kmeans: Union[Path, str],
                 vocoder_dir: Union[Path, str], device: str = "cpu", griffin_lim_iters: int = 32,
                 src_kmeans: Union[Path, str, None] = None, **decode_kwargs):
        from espnet_csst.units.features import build_feature_extractor
        from espnet_csst.units.kmeans import load_kmeans
        from espnet_csst.units.vocoder import UnitVocoder

        self.units2units = Units2Units(train_config, model_file, device=device, **decode_kwargs)
        self.vocoder = UnitVocoder(vocoder_dir, n_iter=griffin_lim_iters, device=device)
        model = self.units2units.model
        tgt_centroids, tgt_features = load_kmeans(kmeans)
        if not len(tgt_centroids) == model.n_units == self.vocoder.model.n_units:
            raise ValueError(f"{kmeans} has {len(tgt_centroids)} clusters, the unit LM {model.n_units} units and the "
                             f"vocoder {self.vocoder.model.n_units}: they must come from one recipe run")
        if model.n_src_units and src_kmeans is None:
            raise ValueError(f"the unit LM reads {model.n_src_units} source units of their own k-means: "
                             "give src_kmeans (the recipe's exp/units/src_kmeans.npz)")
        if not model.n_src_units and src_kmeans is not None:
            raise ValueError(f"the unit LM reads the target's units on the source side; {src_kmeans} is "
                             "not used by it: leave src_kmeans out")
        # the source is read with its own k-means, or with the shared one
        self.centroids, feature_config = tgt_centroids, tgt_features
        if src_kmeans is not None:
            self.centroids, feature_config = load_kmeans(src_kmeans)
        if model.n_src_units and len(self.centroids) != model.n_src_units:
            raise ValueError(f"{src_kmeans} has {len(self.centroids)} clusters but the unit LM reads "
                             f"{model.n_src_units} source units: they must come from one recipe run")
        conf = dict(feature_config)
        if conf["kind"] == "hf_ssl":
            conf["device"] = device
        self.extractor = build_feature_extractor(**conf)
        self.dedup = self.vocoder.predicts_durations

    @classmethod
    def from_pretrained(cls, model: Union[str, Path], cache_dir: Union[str, Path, None] = None,
                        **kwargs) -> "Speech2Speech":
        """Load ``pack_s2st``'s zip, the zip unzipped, or a hub repo id with that layout; ``kwargs`` go to
        the constructor (``task_spec``, ``beam_size``, ``maxlen``, ...)."""
        from espnet_csst.utils.pretrained import resolve_pretrained

        files = resolve_pretrained(model, ("unit_lm_train_config", "unit_lm_model_file", "kmeans_file",
                                           "vocoder_model_file"), cache_dir)
        # the vocoder's config.yaml sits next to its model.pth in the pack
        return cls(files["unit_lm_train_config"], files["unit_lm_model_file"], files["kmeans_file"],
                   Path(files["vocoder_model_file"]).parent, src_kmeans=files.get("src_kmeans_file"), **kwargs)

    def speech_to_units(self, speech, fs: int) -> List[int]:
        """The source units, as the recipe's dump_units writes them."""
        from espnet_csst.units.audio import FEATURE_FS, resample_to, to_mono_float32
        from espnet_csst.units.kmeans import assign_units, deduplicate

        wav = to_mono_float32(speech.detach().cpu().numpy() if isinstance(speech, torch.Tensor) else speech)
        if int(fs) != FEATURE_FS:
            wav = resample_to(wav, int(fs), FEATURE_FS)
        units = assign_units(self.extractor(wav, FEATURE_FS), self.centroids)
        return (deduplicate(units)[0] if self.dedup else units).tolist()

    def __call__(self, speech, fs: int = 16000):
        """``(waveform, sample rate)`` of the translation; ValueError if the LM produced no units."""
        hyp = self.units2units(self.speech_to_units(speech, fs))[0]
        if not hyp["units"]:
            raise ValueError("the unit LM ended the translation before any unit; there is nothing to synthesise")
        return self.vocoder(hyp["units"]), self.vocoder.fs


def inference(output_dir: str, batch_size: int, ngpu: int, seed: int, num_workers: int, log_level,
              data_path_and_name_and_type, key_file: Optional[str], train_config: str,
              model_file: Optional[str], allow_variable_data_keys: bool, task_spec: Optional[str],
              beam_size: int, nbest: int, maxlen: int, maxlenratio: float, length_penalty: float,
              use_cache: bool):
    logging.basicConfig(level=log_level, format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s")
    if ngpu > 1:
        raise NotImplementedError("decode on one GPU per job; split the data with --key_file for more")
    device = "cuda" if ngpu >= 1 else "cpu"
    set_all_random_seed(seed)
    u2u = Units2Units(train_config, model_file, device=device, task_spec=task_spec, beam_size=beam_size,
                      nbest=nbest, maxlen=maxlen, maxlenratio=maxlenratio, length_penalty=length_penalty,
                      use_cache=use_cache)
    loader = UnitLMTask.build_streaming_iterator(
        data_path_and_name_and_type, dtype="float32", batch_size=batch_size, key_file=key_file,
        num_workers=num_workers, preprocess_fn=u2u.preprocess, collate_fn=u2u.collate,
        allow_variable_data_keys=allow_variable_data_keys, inference=True,
    )
    failed: List[str] = []
    start, n_utt, n_units = time.time(), 0, 0
    with DatadirWriter(output_dir) as writer:
        for keys, batch in loader:
            try:
                results = u2u.decode_batch(batch)
            except Exception as e:  # noqa: BLE001 - one bad batch must not stop the test set
                logging.warning(f"batch {keys[0]}..: {e}; decoding its utterances one by one")
                results = []
                for i, key in enumerate(keys):
                    one = {k: v[i : i + 1] for k, v in batch.items()}
                    try:
                        results.append(u2u.decode_batch(one)[0])
                    except Exception as e1:  # noqa: BLE001
                        logging.error(f"utterance {key}: decoding failed: {e1}")
                        failed.append(f"{key} {type(e1).__name__}: {e1}")
                        results.append([{"units": [], "score": float("-inf")}] * nbest)
            for key, hyps in zip(keys, results):
                for n, hyp in enumerate(hyps, 1):
                    w = writer[f"{n}best_recog"]
                    w["units"][key] = " ".join(map(str, hyp["units"]))
                    w["score"][key] = str(hyp["score"])
                n_units += len(hyps[0]["units"])
                n_utt += 1
            if "tgt_units" in batch:
                for key, (hit, total) in zip(keys, u2u.unit_accuracy(batch)):
                    writer["unit_acc"][key] = f"{hit} {total}"
                for key, (hit, total) in zip(keys, u2u.unit_accuracy_other_source(batch) or []):
                    writer["unit_acc_other_src"][key] = f"{hit} {total}"
            elapsed = time.time() - start
            logging.info(f"decoded {n_utt} utterances ({n_units} units) in {elapsed:.1f} s")
    atomic_write_text(Path(output_dir) / "failed", "".join(f + "\n" for f in failed))
    if failed:
        logging.warning(f"{len(failed)} utterances failed; listed in {output_dir}/failed")


def get_parser():
    parser = config_argparse.ArgumentParser(description="S2ST unit LM decoding",
                                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--log_level", type=lambda x: x.upper(), default="INFO",
                        choices=("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"))
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU, 1: one GPU")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_workers", type=int, default=1)
    group = parser.add_argument_group("Input data related")
    group.add_argument("--data_path_and_name_and_type", type=str2triple_str, required=True, action="append")
    group.add_argument("--key_file", type=str_or_none)
    group.add_argument("--allow_variable_data_keys", type=str2bool, default=False)
    group = parser.add_argument_group("The model configuration related")
    group.add_argument("--train_config", type=str, required=True)
    group.add_argument("--model_file", type=str)
    group = parser.add_argument_group("Decoding related")
    group.add_argument("--task_spec", type=str_or_none, default=None, help="e.g. 's2st es en' (else the 'task' file)")
    group.add_argument("--batch_size", type=int, default=16)
    group.add_argument("--beam_size", type=int, default=1, help="1: greedy")
    group.add_argument("--nbest", type=int, default=1)
    group.add_argument("--maxlen", type=int, default=300, help="Maximum number of generated units")
    group.add_argument("--maxlenratio", type=float, default=0.0,
                       help="If > 0: at most this many units per source unit (overrides --maxlen)")
    group.add_argument("--length_penalty", type=float, default=1.0)
    group.add_argument("--use_cache", type=str2bool, default=True, help="KV cache in generation")
    return parser


def main(cmd=None):
    print(" ".join(sys.argv), file=sys.stderr)
    args = get_parser().parse_args(cmd)
    kwargs = vars(args)
    kwargs.pop("config", None)
    inference(**kwargs)


if __name__ == "__main__":
    main()
