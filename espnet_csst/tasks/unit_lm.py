"""UnitLMTask: ESPnet's task machinery (trainer, iterators, config) for the
S2ST unit LM: source speech units -> target speech units with an LLM whose
vocabulary is extended by the units (DESIGN.md 3.4).

Data (``--train_data_path_and_name_and_type``, ESPnet's triples)::

    dump/units/<set>/src_units,src_units,text_int
    dump/units/<set>/tgt_units,tgt_units,text_int
    dump/units/<set>/src_word_frames,src_word_frames,text   (interleaving; optional)
    dump/units/<set>/tgt_word_frames,tgt_word_frames,text
    dump/units/<set>/task,task,text                         (or --default_task "s2st es en")
"""

from __future__ import annotations

import argparse
import logging
from typing import Callable, Collection, Dict, List, Optional, Tuple

import numpy as np
import torch
from typeguard import typechecked

from espnet2.tasks.abs_task import AbsTask
from espnet2.train.class_choices import ClassChoices
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.trainer import Trainer
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str2bool, str_or_none

from espnet_csst.llm.abs_llm import AbsLLM
from espnet_csst.llm.hf_causal_lm import HFCausalLM
from espnet_csst.llm.prompts import DEFAULT_TEMPLATES
from espnet_csst.llm.tokens import TOKEN_TYPES, TextCodec
from espnet_csst.models.unit_lm_model import ESPnetUnitLMModel
from espnet_csst.tasks.csst import _ConfigCheckingParser
from espnet_csst.tasks.safe_io import SafeIOTaskMixin
from espnet_csst.train.unit_preprocessor import UnitLMPreprocessor

llm_choices = ClassChoices("llm", classes=dict(hf_causal_lm=HFCausalLM), type_check=AbsLLM,
                           default="hf_causal_lm")
model_choices = ClassChoices("model", classes=dict(unit_lm=ESPnetUnitLMModel), type_check=ESPnetUnitLMModel,
                             default="unit_lm")


class UnitLMTask(SafeIOTaskMixin, AbsTask):
    num_optimizers: int = 1
    class_choices_list = [llm_choices, model_choices]
    trainer = Trainer

    @classmethod
    def get_parser(cls):
        parser = super().get_parser()
        parser.__class__ = _ConfigCheckingParser  # config-file choices checked like the command line's
        return parser

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        group = parser.add_argument_group(description="Task related")
        required = parser.get_default("required")
        required += ["token_list", "n_units"]
        group.add_argument("--token_list", type=str_or_none, default=None,
                           help="The LLM's text vocabulary (ESPnet token list); the units come after it")
        group.add_argument("--n_units", type=int, default=None,
                           help="Number of speech units (k-means clusters): LLM tokens added to the vocabulary")
        group.add_argument("--n_src_units", type=int, default=0,
                           help="Units of the source's own k-means (tokens after the target's); "
                                "0: the source uses the target's units")

        group = parser.add_argument_group(description="Preprocess related")
        group.add_argument("--use_preprocessor", type=str2bool, default=True)
        group.add_argument("--token_type", type=str, default="bpe", choices=list(TOKEN_TYPES))
        group.add_argument("--bpemodel", type=str_or_none, default=None)
        group.add_argument("--prompt_templates", action=NestedDictAction, default=dict(DEFAULT_TEMPLATES),
                           help="Prompt templates (prefix, s2st, ...; {src}/{tgt} = language names)")
        group.add_argument("--default_task", type=str_or_none, default=None,
                           help="Task spec ('s2st es en') for data without a 'task' file")
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)

    @classmethod
    @typechecked
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable[
        [Collection[Tuple[str, Dict[str, np.ndarray]]]], Tuple[List[str], Dict[str, torch.Tensor]]
    ]:
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)

    @classmethod
    @typechecked
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.array]], Dict[str, np.ndarray]]]:
        if not args.use_preprocessor:
            return None
        return UnitLMPreprocessor(train=train, token_type=args.token_type, token_list=args.token_list,
                                  bpemodel=args.bpemodel, n_units=args.n_units,
                                  n_src_units=getattr(args, "n_src_units", 0),
                                  prompt_templates=args.prompt_templates,
                                  default_task=getattr(args, "default_task", None))

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        if inference:
            return ("src_units",)
        return ("src_units", "tgt_units")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        if inference:
            return ("task", "tgt_units")
        return ("task", "src_word_frames", "tgt_word_frames")

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> ESPnetUnitLMModel:
        if not args.n_units or args.n_units < 1:
            raise ValueError(f"--n_units must be the number of k-means clusters (>= 1), got {args.n_units}")
        n_src_units = getattr(args, "n_src_units", 0) or 0  # configs from before the option: shared units
        if n_src_units < 0:
            raise ValueError(f"--n_src_units must be >= 0 (0: the source uses the target's units), got {n_src_units}")
        codec = TextCodec(args.token_type, args.token_list, args.bpemodel)
        args.token_list = list(codec.token_list)  # config.yaml keeps the vocabulary: packed models are whole
        llm = llm_choices.get_class(args.llm)(
            vocab_size=codec.vocab_size, pad_id=codec.pad_id, bos_id=codec.bos_id, eos_id=codec.eos_id,
            extra_tokens=args.n_units + n_src_units, **args.llm_conf,
        )
        first = llm.extra_token_offset
        logging.info(f"Text vocabulary {codec.vocab_size}, target units {args.n_units} "
                     f"(tokens {first}-{first + args.n_units - 1})"
                     + (f", source units {n_src_units} (tokens {first + args.n_units}-{llm.vocab_size() - 1})"
                        if n_src_units else ", shared by the source"))
        return model_choices.get_class(args.model)(
            llm=llm, n_units=args.n_units, unit_offset=first, n_src_units=n_src_units, **args.model_conf)
