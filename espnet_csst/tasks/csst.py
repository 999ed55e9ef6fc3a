"""CSSTTask: ESPnet's task machinery (trainer, iterators, config, stats) for
speech -> LLM models.

The frontend, specaug, normalize and encoder registries are ESPnet's ASR
ones (plus a Hugging Face Whisper encoder); the projector and LLM registries
are this project's. Configs select classes by lowercase name with a
``<role>_conf`` dict, exactly as in espnet2.
"""

from __future__ import annotations

import argparse
import logging
from typing import Callable, Collection, Dict, List, Optional, Tuple

import numpy as np
import torch
from typeguard import typechecked

from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.encoder.branchformer_encoder import BranchformerEncoder
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder
from espnet2.asr.encoder.rnn_encoder import RNNEncoder
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.asr.frontend.s3prl import S3prlFrontend
from espnet2.asr.frontend.windowing import SlidingWindow
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.asr.specaug.specaug import SpecAug
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.layers.global_mvn import GlobalMVN
from espnet2.layers.utterance_mvn import UtteranceMVN
from espnet2.tasks.abs_task import AbsTask, optim_classes
from espnet2.torch_utils.initialize import initialize
from espnet2.train.class_choices import ClassChoices
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.trainer import Trainer
from espnet2.utils import config_argparse
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import int_or_none, str2bool, str_or_none

from espnet_csst.encoders.hf_whisper import HFWhisperEncoder
from espnet_csst.frontends.feature_cache import check_cached_inputs
from espnet_csst.frontends.whisper import WhisperFrontend
from espnet_csst.llm.abs_llm import AbsLLM
from espnet_csst.llm.hf_causal_lm import HFCausalLM
from espnet_csst.llm.prompts import DEFAULT_TEMPLATES
from espnet_csst.llm.tokens import TOKEN_TYPES, TextCodec, read_token_list
from espnet_csst.models.csst_model import ESPnetCSSTModel
from espnet_csst.projectors.abs_projector import AbsProjector
from espnet_csst.projectors.conv1d import Conv1dProjector
from espnet_csst.projectors.linear import LinearProjector
from espnet_csst.projectors.moe import MoEProjector
from espnet_csst.tasks.safe_io import SafeIOTaskMixin
from espnet_csst.train.preprocessor import CSSTPreprocessor

# ESPnet's registries are rebuilt with the classes a speech-LLM uses rather than imported
# from espnet2.tasks.asr: importing that module costs ~5 s per process (g2p, SSL models),
# paid by every training, statistics and decoding job of a recipe.
frontend_choices = ClassChoices(
    "frontend",
    # whisper_hf: a pretrained Whisper encoder's frames (frozen ones can be cached: dump_frontend_feats)
    classes=dict(default=DefaultFrontend, sliding_window=SlidingWindow, s3prl=S3prlFrontend,
                 whisper_hf=WhisperFrontend),
    type_check=AbsFrontend,
    default="default",
    optional=True,  # frontend: null for encoders that compute their own features (encoder: whisper_hf)
)
specaug_choices = ClassChoices(
    "specaug", classes=dict(specaug=SpecAug), type_check=AbsSpecAug, default=None, optional=True
)
normalize_choices = ClassChoices(
    "normalize",
    classes=dict(global_mvn=GlobalMVN, utterance_mvn=UtteranceMVN),
    type_check=AbsNormalize,
    default="utterance_mvn",
    optional=True,
)
encoder_choices = ClassChoices(
    "encoder",
    classes=dict(
        conformer=ConformerEncoder, transformer=TransformerEncoder, e_branchformer=EBranchformerEncoder,
        branchformer=BranchformerEncoder, rnn=RNNEncoder, whisper_hf=HFWhisperEncoder,
    ),
    type_check=AbsEncoder,
    default="conformer",
)
projector_choices = ClassChoices(
    "projector",
    classes=dict(linear=LinearProjector, conv1d=Conv1dProjector, moe=MoEProjector),
    type_check=AbsProjector,
    default="linear",
)
llm_choices = ClassChoices(
    "llm",
    classes=dict(hf_causal_lm=HFCausalLM),
    type_check=AbsLLM,
    default="hf_causal_lm",
)
model_choices = ClassChoices(
    "model",
    classes=dict(csst=ESPnetCSSTModel),
    type_check=ESPnetCSSTModel,
    default="csst",
)


class _ConfigCheckingParser(config_argparse.ArgumentParser):
    """ESPnet's parser, which also checks ``choices`` of options set in the --config file.

    ESPnet's parser turns the config file into defaults, which argparse never checks:
    a typo such as ``projector: foo`` would only fail in ``build_model``, after the
    LLM (possibly a large pretrained one) is loaded. Here it is the same one-line
    argparse error as on the command line.
    """

    def parse_known_args(self, args=None, namespace=None):
        ns, rest = super().parse_known_args(args, namespace)
        if getattr(ns, "config", None) is not None:
            import yaml

            with open(ns.config, "r", encoding="utf-8") as f:
                keys = set(yaml.safe_load(f) or {})
            for action in self._actions:
                if action.choices is not None and action.dest in keys:
                    value = getattr(ns, action.dest)
                    if value not in action.choices:
                        choices = ", ".join(map(repr, action.choices))
                        self.error(f"argument --{action.dest} (from {ns.config}): invalid choice: "
                                   f"{value!r} (choose from {choices})")
        return ns, rest


class CSSTTask(SafeIOTaskMixin, AbsTask):
    num_optimizers: int = 1

    class_choices_list = [
        frontend_choices,
        specaug_choices,
        normalize_choices,
        encoder_choices,
        projector_choices,
        llm_choices,
        model_choices,
    ]

    trainer = Trainer

    @classmethod
    def get_parser(cls) -> config_argparse.ArgumentParser:
        parser = super().get_parser()
        parser.__class__ = _ConfigCheckingParser  # same parser, config choices checked too
        return parser

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        group = parser.add_argument_group(description="Task related")
        required = parser.get_default("required")
        required += ["token_list"]
        group.add_argument("--token_list", type=str_or_none, default=None,
                           help="The LLM vocabulary: ESPnet token list (one token per line, id = line)")
        group.add_argument("--init", type=lambda x: str_or_none(x.lower()), default=None,
                           choices=["chainer", "xavier_uniform", "xavier_normal",
                                    "kaiming_uniform", "kaiming_normal", None],
                           help="Initialisation of the non-LLM modules (the LLM keeps its own)")
        group.add_argument("--input_size", type=int_or_none, default=None,
                           help="Feature dimension when features come from the data loader")
        group.add_argument("--llm_lr_scale", type=float, default=1.0,
                           help="Learning rate of the LLM's parameters relative to optim_conf.lr: "
                                "a pretrained LLM forgets what it knows at the rate a fresh "
                                "encoder and projector need")
        group.add_argument("--frontend_lr_scale", type=float, default=1.0,
                           help="Learning rate of the frontend's trained parameters (a pretrained "
                                "frontend's top blocks: frontend_conf.finetune_top) relative to optim_conf.lr")

        group = parser.add_argument_group(description="Preprocess related")
        group.add_argument("--use_preprocessor", type=str2bool, default=True)
        group.add_argument("--token_type", type=str, default="bpe", choices=list(TOKEN_TYPES),
                           help="bpe: the recipe's sentencepiece model; hugging_face: the LLM's tokenizer")
        group.add_argument("--bpemodel", type=str_or_none, default=None,
                           help="sentencepiece model (bpe) or tokenizer dir / hub name (hugging_face)")
        group.add_argument("--src_token_list", type=str_or_none, default=None,
                           help="Token list of the source transcript (src_text, the CTC target; "
                                "sentencepiece --src_bpemodel). Default: the LLM's --token_list")
        group.add_argument("--src_bpemodel", type=str_or_none, default=None,
                           help="sentencepiece model of --src_token_list")
        group.add_argument("--prompt_templates", action=NestedDictAction, default=dict(DEFAULT_TEMPLATES),
                           help="Prompt templates: prefix, asr, st ({src}/{tgt} = language names)")
        group.add_argument("--default_task", type=str_or_none, default=None,
                           help="Task spec ('st es en') for data without a 'task' file")

        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)

    @classmethod
    def build_optimizers(cls, args: argparse.Namespace, model: torch.nn.Module) -> List[torch.optim.Optimizer]:
        scales = {"llm": getattr(args, "llm_lr_scale", 1.0), "frontend": getattr(args, "frontend_lr_scale", 1.0)}
        if all(scale == 1.0 for scale in scales.values()):
            return super().build_optimizers(args, model)
        for name, scale in scales.items():
            if scale <= 0:
                raise ValueError(f"--{name}_lr_scale must be > 0, got {scale} (freeze the {name} in its config instead)")
        if args.sharded_ddp or args.exclude_weight_decay:
            raise ValueError("--llm_lr_scale / --frontend_lr_scale do not combine with --sharded_ddp or "
                             "--exclude_weight_decay")
        optim_class = optim_classes.get(args.optim)
        if optim_class is None:
            raise ValueError(f"must be one of {list(optim_classes)}: {args.optim}")
        base_lr = args.optim_conf.get("lr", 1e-3)
        scaled = {name: {id(p) for p in getattr(model, name).parameters()} if getattr(model, name, None) is not None
                  else set() for name in scales}
        trainable = [p for p in model.parameters() if p.requires_grad]
        groups = [{"params": [p for p in trainable if not any(id(p) in ids for ids in scaled.values())]}]
        for name, ids in scaled.items():
            groups.append({"params": [p for p in trainable if id(p) in ids], "lr": base_lr * scales[name]})
        # ESPnet's schedulers scale every group from its own initial lr, so the ratio holds
        return [optim_class([g for g in groups if g["params"]], **args.optim_conf)]

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
        return CSSTPreprocessor(
            train=train,
            token_type=args.token_type,
            token_list=args.token_list,
            bpemodel=args.bpemodel,
            prompt_templates=args.prompt_templates,
            default_task=getattr(args, "default_task", None),
            src_token_list=getattr(args, "src_token_list", None),
            src_bpemodel=getattr(args, "src_bpemodel", None),
            # the MoE projector's language groups: lang_ali -> per-frame group labels
            languages=(args.projector_conf or {}).get("languages", MoEProjector.default_languages)
            if args.projector == "moe" else None,
            src_llm_ids=float((args.model_conf or {}).get("ot_weight", 0.0)) > 0,
            # a frontend that reads its own cached frames: (T, D) speech is frames, kept whole
            speech_frames=getattr(frontend_choices.get_class(args.frontend), "accepts_cached_frames", False)
            if args.frontend else False,
        )

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        if inference:
            return ("speech",)
        return ("speech", "text")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        if inference:
            return ("task", "text", "src_text")
        return ("task", "src_text", "utt2lang", "word_ali", "lang_ali", "replay")

    @classmethod
    def codec(cls, args: argparse.Namespace) -> TextCodec:
        return TextCodec(args.token_type, args.token_list, args.bpemodel)

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> ESPnetCSSTModel:
        codec = cls.codec(args)
        # keep the vocabulary inside config.yaml so a packed model is self-contained
        args.token_list = list(codec.token_list)
        logging.info(f"Vocabulary size: {codec.vocab_size}")
        src_vocab_size = None
        if getattr(args, "src_token_list", None) is not None:
            src_tokens = read_token_list(args.src_token_list)
            args.src_token_list = src_tokens
            src_vocab_size = len(src_tokens)
            logging.info(f"Source transcript vocabulary size: {src_vocab_size}")

        if args.input_size is None:
            if args.frontend is None:
                frontend, input_size = None, 1
            else:
                frontend = frontend_choices.get_class(args.frontend)(**args.frontend_conf)
                input_size = frontend.output_size()
        else:
            args.frontend, args.frontend_conf = None, {}
            frontend, input_size = None, args.input_size

        specaug = None
        if args.specaug is not None:
            specaug = specaug_choices.get_class(args.specaug)(**args.specaug_conf)
        normalize = None
        if args.normalize is not None:
            normalize = normalize_choices.get_class(args.normalize)(**args.normalize_conf)

        encoder = encoder_choices.get_class(args.encoder)(input_size=input_size, **args.encoder_conf)
        llm = llm_choices.get_class(args.llm)(
            vocab_size=codec.vocab_size, pad_id=codec.pad_id, bos_id=codec.bos_id,
            eos_id=codec.eos_id, **args.llm_conf,
        )
        projector = projector_choices.get_class(args.projector)(
            input_size=encoder.output_size(), output_size=llm.hidden_size(), **args.projector_conf
        )
        model = model_choices.get_class(args.model)(
            frontend=frontend, specaug=specaug, normalize=normalize, encoder=encoder,
            projector=projector, llm=llm, src_vocab_size=src_vocab_size, **args.model_conf,
        )
        if args.init is not None:
            # the LLM keeps its own (pretrained or HF-default) initialisation
            for module in (encoder, projector):
                initialize(module, args.init)
        # cached frontend frames (feats.scp) must come from this model's frontend: another
        # checkpoint or layer would train on the wrong input without any error. A frontend built
        # from its architecture alone (a packed model's config) gets its weights from the model
        # file after this, so there is nothing to compare yet; csst_inference checks its input
        # once the weights are loaded.
        if getattr(frontend, "model_name_or_path", None):
            for mode in ("train", "valid"):
                check_cached_inputs(frontend, getattr(args, f"{mode}_data_path_and_name_and_type", None))
        return model
