"""ESPnetCSSTModel: speech encoder -> projector -> decoder-only LLM.

One sequence per utterance::

    <bos> prefix | projected speech | instruction target <eos>

The loss is cross-entropy on the target tokens and <eos> only; everything
before them is context. The same layout (left-padded, without the target)
is the prompt for generation, so training and decoding see identical inputs.

Optional auxiliary loss: ``ctc_weight`` > 0 adds ESPnet's CTC on the encoder
output against the *source transcript* (``src_text``), the usual way to teach
a from-scratch speech encoder to read before the LLM can use it; the total is
``(1 - ctc_weight) * CE + ctc_weight * CTC``.

With the MoE projector (``projector: moe``), ``lang_loss_weight`` adds the
language-specific loss on its group router (labels: ``lang_labels``, the
language of every 10 ms, mapped onto projector tokens) and
``balance_loss_weight`` the intra-group load-balancing loss; the reporter logs
both, the group routing accuracy and every expert's load.

Speech tokens (``speech_tokens``): ``projector`` feeds the LLM the projector's output
on its fixed grid. ``ctc_soft`` (``espnet_csst/projectors/ctc_compress.py``) needs the CTC
over the LLM's own vocabulary: each segment of the greedy CTC path becomes one speech
token, the expected text embedding of its label plus the projector's output on the
segment's mean frame (scaled by a learned gate that starts at ``ctc_soft_gate_init``), so
the LLM starts from inputs it was pre-trained on.

Transition loss (multi-stage training, ``espnet_csst/losses/transition.py``):
utterances flagged by ``replay`` (the previous stage's data, mixed into the
batches by ``espnet_csst.bin.add_replay``) have their CE and CTC weighted by
lambda(t) (``transition_lambda0/lambda_min/steps/schedule``);
``transition_kl_weight`` adds a KL term to the frozen previous-stage model
(``transition_teacher``, its model file) on the current stage's data.

Inner-layer speech-text alignment, AI-STA (``espnet_csst/losses/ot_align.py``):
``ot_weight`` > 0 adds the entropic OT cost between the hidden states at the
speech positions and those of the source transcript (``src_llm``: its LLM
token ids) in a text-only forward of the same prompt prefix, at the LLM layers
``ot_layers`` (hidden-state index: 0 the embeddings, l the output of block l),
averaged over the layers; the reporter logs ``loss_ot`` and ``loss_ot_l<l>``.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack, contextmanager
from typing import Dict, List, Optional, Tuple, Union

import torch
from typeguard import typechecked

from espnet2.asr.ctc import CTC
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel

from espnet_csst.llm.abs_llm import AbsLLM
from espnet_csst.losses.moe_losses import balance_loss, language_loss, routing_stats, token_labels
from espnet_csst.losses.ot_align import gather_positions, ot_alignment_cost
from espnet_csst.losses.transition import TransitionSchedule, kl_to_teacher
from espnet_csst.projectors.abs_projector import AbsProjector
from espnet_csst.projectors.ctc_compress import ctc_segments, soft_token_embeddings
from espnet_csst.utils.cpu_bf16_guards import RunningStatsGuard, guard_one_wide_conv2d
from espnet_csst.utils.dist_stats import uniform_stats

IGNORE = -100


@contextmanager
def _no_autocast():
    """fp32 for the frontend (STFT) and normalisation, whatever autocast is active."""
    with ExitStack() as stack:
        for device in ("cuda", "cpu"):
            if torch.is_autocast_enabled(device):
                stack.enter_context(torch.autocast(device_type=device, enabled=False))
        yield


def cpu_has_bf16() -> bool:
    """The CPU multiplies bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated, slowly."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def resolve_cpu_bf16(value: Union[bool, str]) -> bool:
    """``model_conf.cpu_bf16`` (true, false or auto) -> whether to autocast on CPU."""
    if value not in (True, False, "auto"):
        raise ValueError(f"model_conf.cpu_bf16 must be true, false or auto, got {value!r}")
    return cpu_has_bf16() if value == "auto" else value


def _cpu_bf16(enabled: bool, device: torch.device):
    # ESPnet's trainer autocasts on CUDA only (--use_amp); on CPUs with bf16 matrix units
    # bf16 autocast makes a training step of the mini recipe 1.3x faster (bench/RESULTS.md).
    return torch.autocast(device_type="cpu", dtype=torch.bfloat16,
                          enabled=enabled and device.type == "cpu")


def flag_nonfinite_loss(model: torch.nn.Module, loss: torch.Tensor, stats: Dict) -> torch.Tensor:
    """Count and log a NaN/inf loss; returns the loss to backpropagate.

    On one process the loss is returned unchanged: its gradients are then
    non-finite, and ESPnet's trainer skips the update of a step whose gradient
    norm is not finite ("The grad norm is nan. Skipping updating the model."),
    so training goes on from the last good weights.

    Under DDP that is not enough. A NaN forward can leave parameters out of the
    graph (NaN routing logits send no token to some experts), and DDP's
    gradient all-reduce then waits on buckets that this rank never fills: the
    ranks fall out of step ("collective mismatch", or "Expected to have finished
    reduction" on the next step). So a distributed rank backpropagates an exact
    zero through every trainable parameter instead. Its batch adds nothing, and
    the other ranks' batches update the model.

    ESPnet's reporter leaves the non-finite ``loss`` value out of its averages.
    ``nonfinite_loss`` (the share of such batches) shows in the epoch summaries,
    and ``model.n_nonfinite_loss`` counts them.
    """
    finite = bool(torch.isfinite(loss.detach()).all())
    stats["nonfinite_loss"] = 0.0 if finite else 1.0
    if finite:
        return loss
    model.n_nonfinite_loss = getattr(model, "n_nonfinite_loss", 0) + 1
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized() \
        and torch.distributed.get_world_size() > 1
    logging.warning(f"non-finite loss ({float(loss.detach())}) in this batch, {model.n_nonfinite_loss} so far: "
                    + ("this rank contributes a zero gradient" if distributed else "its update is skipped")
                    + ". Many of them point at bad input or too high a learning rate")
    if not distributed:
        return loss
    return sum(p.sum() for p in model.parameters() if p.requires_grad) * 0.0


#: Decoding autocasts to bf16 on CPU only from this many hypotheses (batch x beam) per step:
#: below it the casts cost more than the small matmuls gain (bench/bench_decode.py on the mini
#: model: batch 1 greedy 1.5x slower in bf16, batch 16 x beam 4 1.4x faster, batch 16 even).
BF16_MIN_DECODE_ROWS = 16


def decode_in_bf16(cpu_bf16: bool, batch_size: int, beam_size: int) -> bool:
    return cpu_bf16 and batch_size * beam_size >= BF16_MIN_DECODE_ROWS


class ESPnetCSSTModel(AbsESPnetModel):
    @typechecked
    def __init__(
        self,
        frontend: Optional[AbsFrontend],
        specaug: Optional[AbsSpecAug],
        normalize: Optional[AbsNormalize],
        encoder: AbsEncoder,
        projector: AbsProjector,
        llm: AbsLLM,
        lsm_weight: float = 0.0,
        freeze_encoder: bool = False,
        ctc_weight: float = 0.0,
        cpu_bf16: Union[bool, str] = False,
        src_vocab_size: Optional[int] = None,
        scale_speech_to_text: bool = True,
        lang_loss_weight: float = 0.0,
        balance_loss_weight: float = 0.0,
        transition_lambda0: float = 1.0,
        transition_lambda_min: float = 0.1,
        transition_steps: int = 1000,
        transition_schedule: str = "linear",
        transition_kl_weight: float = 0.0,
        transition_teacher: Optional[str] = None,
        ot_weight: float = 0.0,
        ot_layers: Optional[List[int]] = None,
        ot_eps: float = 0.1,
        ot_position_weight: float = 0.0,
        ot_detach_text: bool = True,
        ot_max_iter: int = 100,
        speech_tokens: str = "projector",
        ctc_soft_gate_init: float = 0.0,
    ):
        super().__init__()
        if not 0.0 <= ctc_weight < 1.0:
            raise ValueError(f"model_conf.ctc_weight must be in [0, 1), got {ctc_weight}")
        self._check_speech_tokens(speech_tokens, ctc_weight, src_vocab_size, projector)
        self.speech_tokens = speech_tokens
        if speech_tokens == "ctc_soft":
            self.ctc_soft_gate = torch.nn.Parameter(torch.tensor(float(ctc_soft_gate_init)))
        if (lang_loss_weight or balance_loss_weight) and not hasattr(projector, "languages"):
            raise ValueError("model_conf.lang_loss_weight/balance_loss_weight need a routed projector "
                             f"(projector: moe); this one is {type(projector).__name__}")
        self.frontend = frontend
        self.specaug = specaug
        self.normalize = normalize
        self.encoder = encoder
        self.projector = projector
        self.llm = llm
        self.lsm_weight = lsm_weight
        self.ctc_weight = ctc_weight
        self.scale_speech_to_text = scale_speech_to_text
        self.lang_loss_weight = lang_loss_weight
        self.balance_loss_weight = balance_loss_weight
        self.cpu_bf16 = resolve_cpu_bf16(cpu_bf16)
        self._text_rms_cache: Optional[torch.Tensor] = None
        # CTC classes: 0 is the blank, token id k is class k + 1 (so any vocabulary works,
        # including an LLM tokenizer whose id 0 is a real token). The source transcript
        # has the LLM's vocabulary unless the task gives it its own (--src_token_list).
        n_src = src_vocab_size or llm.vocab_size()
        self.ctc = CTC(n_src + 1, encoder.output_size()) if ctc_weight > 0 else None
        self.n_skipped_too_long = 0
        if freeze_encoder:
            for p in self.encoder.parameters():
                p.requires_grad_(False)
        self.transition = TransitionSchedule(transition_lambda0, transition_lambda_min, transition_steps,
                                             transition_schedule)
        # training forward passes so far: model state, so checkpoints carry it and --resume
        # continues the transition schedule (csst.sh excludes it from --init_param)
        self.register_buffer("transition_step", torch.zeros((), dtype=torch.long))
        self.transition_kl_weight = transition_kl_weight
        if transition_kl_weight > 0 and not transition_teacher:
            raise ValueError("model_conf.transition_kl_weight > 0 needs model_conf.transition_teacher: "
                             "the previous stage's model file")
        # loaded at the first training step (decoding a trained model never needs the file);
        # a list keeps it out of this model's parameters and state_dict
        self._teacher_file = transition_teacher
        self._teacher: List["ESPnetCSSTModel"] = []
        self.ot_weight = ot_weight
        self.ot_layers = self._check_ot_layers(ot_weight, ot_layers, llm.num_layers())
        self.ot_eps = ot_eps
        self.ot_position_weight = ot_position_weight
        self.ot_detach_text = ot_detach_text
        self.ot_max_iter = ot_max_iter
        # oneDNN's bf16 strided conv2d with a one-wide output is wrong on AMX CPUs
        # (espnet_csst/utils/cpu_bf16_guards.py): such calls run in fp32
        guard_one_wide_conv2d(self)

    @staticmethod
    def _check_speech_tokens(speech_tokens: str, ctc_weight: float, src_vocab_size: Optional[int],
                             projector: AbsProjector) -> None:
        if speech_tokens not in ("projector", "ctc_soft"):
            raise ValueError(f"model_conf.speech_tokens must be projector or ctc_soft, got {speech_tokens!r}")
        if speech_tokens != "ctc_soft":
            return
        if ctc_weight <= 0:
            raise ValueError("model_conf.speech_tokens ctc_soft needs the CTC head: set model_conf.ctc_weight > 0")
        if src_vocab_size:
            raise ValueError("model_conf.speech_tokens ctc_soft needs the CTC over the LLM's own vocabulary, but "
                             f"the source transcripts have their own ({src_vocab_size} tokens): run csst.sh "
                             "with --src_vocab_size 0")
        if getattr(projector, "downsample", 1) != 1:
            raise ValueError("model_conf.speech_tokens ctc_soft: the CTC segments are the tokens already; set "
                             f"projector_conf.downsample to 1 (it is {projector.downsample})")

    @staticmethod
    def _check_ot_layers(ot_weight: float, layers: Optional[List[int]], num_layers: int) -> List[int]:
        if ot_weight < 0:
            raise ValueError(f"model_conf.ot_weight must be >= 0, got {ot_weight}")
        if ot_weight == 0:
            return list(layers or [])
        if not layers:
            raise ValueError("model_conf.ot_weight > 0 needs model_conf.ot_layers, e.g. [2, 4]: the LLM "
                             "layers to align (espnet_csst.bin.select_align_layers chooses them)")
        bad = [l for l in layers if not 0 <= int(l) <= num_layers]
        if bad:
            raise ValueError(f"model_conf.ot_layers {bad} outside 0..{num_layers} (0: the embeddings, "
                             f"l: the output of LLM block l; this LLM has {num_layers})")
        return sorted({int(l) for l in layers})

    def _load_teacher(self, path: str) -> "ESPnetCSSTModel":
        import copy

        # deepcopy refuses tensors that belong to a graph, such as the attention weights ESPnet's
        # attention layers keep for plotting: set them aside during the copy
        held = [(m, k, v) for m in self.modules() for k, v in vars(m).items()
                if isinstance(v, torch.Tensor) and v.grad_fn is not None]
        for m, k, _ in held:
            setattr(m, k, None)
        try:
            teacher = copy.deepcopy(self)
        finally:
            for m, k, v in held:
                setattr(m, k, v)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise FileNotFoundError(f"model_conf.transition_teacher: {path} does not exist; give the "
                                    "previous stage's model file") from None
        missing, unexpected = teacher.load_state_dict(state, strict=False)
        missing = [k for k in missing if k != "transition_step"]  # files from before the counter existed
        if missing or unexpected:
            raise ValueError(f"model_conf.transition_teacher: {path} is not a model of this architecture "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        return teacher

    # ------------------------------------------------------------------ speech side
    def _extract_feats(self, speech, speech_lengths):
        speech = speech[:, : speech_lengths.max()]
        if self.frontend is None:
            return speech, speech_lengths
        return self.frontend(speech, speech_lengths)

    def encode(self, speech: torch.Tensor, speech_lengths: torch.Tensor):
        """Waveform -> encoder frames (also used by inference)."""
        with _no_autocast():
            feats, feats_lengths = self._extract_feats(speech, speech_lengths)
            if self.specaug is not None and self.training:
                feats, feats_lengths = self.specaug(feats, feats_lengths)
            if self.normalize is not None:
                feats, feats_lengths = self.normalize(feats, feats_lengths)
        enc, enc_lens, _ = self.encoder(feats, feats_lengths)
        return enc, enc_lens

    def project(self, enc: torch.Tensor, enc_lens: torch.Tensor, return_routing: bool = False):
        """Encoder frames -> LLM-width speech tokens, at the scale of the LLM's text embeddings.

        A fresh projector's outputs are ~50x larger than the embeddings the LLM was
        trained on (measured on the mini recipe), so the LLM's layers barely change the
        residual stream at speech positions. Each token is rescaled to the RMS of the
        embedding table (``scale_speech_to_text``), which holds for any LLM.
        """
        if self.speech_tokens == "ctc_soft":
            return self._project_ctc_segments(enc, enc_lens, return_routing)
        sp, sp_lens, routing = self.projector.forward_with_routing(enc, enc_lens)
        sp = self._scale_to_text(sp)
        return (sp, sp_lens, routing) if return_routing else (sp, sp_lens)

    def _scale_to_text(self, sp: torch.Tensor) -> torch.Tensor:
        if not self.scale_speech_to_text:
            return sp
        rms = sp.float().pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()
        return (sp * (self._text_rms() / rms)).to(sp.dtype)

    def _project_ctc_segments(self, enc: torch.Tensor, enc_lens: torch.Tensor, return_routing: bool):
        """One speech token per CTC segment: its label's expected text embedding + gated projector output."""
        probs = self.ctc.ctc_lo(enc).float().softmax(-1)
        seg = ctc_segments(enc, enc_lens, probs)
        soft = soft_token_embeddings(seg.posteriors, self.llm.embed_table())
        sp, sp_lens, routing = self.projector.forward_with_routing(seg.frames, seg.lengths)
        sp = soft.to(sp.dtype) + self.ctc_soft_gate.to(sp.dtype) * self._scale_to_text(sp)
        if routing is not None:
            routing.spans, routing.span_frames = seg.spans, enc_lens
        return (sp, sp_lens, routing) if return_routing else (sp, sp_lens)

    def _text_rms(self) -> torch.Tensor:
        table = self.llm.embed_table()
        if table.requires_grad or self._text_rms_cache is None:
            # a frozen table (LoRA, frozen LLM) is measured once; the norm avoids an fp32 copy
            with torch.no_grad():
                self._text_rms_cache = torch.linalg.vector_norm(table, dtype=torch.float32) / table.numel() ** 0.5
        return self._text_rms_cache

    def speech_embeddings(self, speech, speech_lengths):
        """Waveform -> LLM-width speech tokens (B, S, D) and their lengths."""
        enc, enc_lens = self.encode(speech, speech_lengths)
        return self.project(enc, enc_lens)

    # ------------------------------------------------------------------ sequences
    def _embed_ids(self, ids: torch.Tensor) -> torch.Tensor:
        # -1 pads from the collate function are clamped to a real id; those rows are never used
        return self.llm.embed(ids.clamp(min=0))

    def build_sequences(
        self,
        sp_emb: torch.Tensor,
        sp_lens: torch.Tensor,
        prefix: torch.Tensor,
        prefix_lengths: torch.Tensor,
        instruction: torch.Tensor,
        instruction_lengths: torch.Tensor,
        text: Optional[torch.Tensor] = None,
        text_lengths: Optional[torch.Tensor] = None,
        left_pad: bool = False,
    ) -> Dict[str, torch.Tensor]:
        """Concatenate prompt, speech and (optionally) target per utterance and pad.

        Returns ``inputs_embeds`` (B, L, D), ``attention_mask`` (B, L), ``labels``
        (B, L, the id to predict *at* each position, IGNORE elsewhere) and
        ``speech_mask`` (B, L, True at projected speech positions).
        """
        b = sp_emb.size(0)
        pre_emb = self._embed_ids(prefix)
        ins_emb = self._embed_ids(instruction)
        eos = torch.full((1,), self.llm.eos_id, dtype=torch.long, device=sp_emb.device)
        if text is not None:
            tgt_emb = self._embed_ids(text)
            eos_emb = self.llm.embed(eos)
        pieces: List[torch.Tensor] = []
        labels: List[torch.Tensor] = []
        kinds: List[torch.Tensor] = []  # 0 prompt, 1 speech, 2 target
        for i in range(b):
            p, s, n = int(prefix_lengths[i]), int(sp_lens[i]), int(instruction_lengths[i])
            parts = [pre_emb[i, :p], sp_emb[i, :s], ins_emb[i, :n]]
            lab = [torch.full((p + s + n,), IGNORE, dtype=torch.long, device=sp_emb.device)]
            kind = [torch.zeros(p, dtype=torch.long), torch.ones(s, dtype=torch.long),
                    torch.zeros(n, dtype=torch.long)]
            if text is not None:
                t = int(text_lengths[i])
                parts += [tgt_emb[i, :t], eos_emb]
                lab.append(torch.cat([text[i, :t], eos]))
                kind.append(torch.full((t + 1,), 2, dtype=torch.long))
            pieces.append(torch.cat(parts))
            labels.append(torch.cat(lab))
            kinds.append(torch.cat(kind))
        lengths = torch.tensor([x.size(0) for x in pieces], device=sp_emb.device)
        big = int(lengths.max())
        d = sp_emb.size(-1)
        inputs = sp_emb.new_zeros(b, big, d)
        mask = torch.zeros(b, big, dtype=torch.long, device=sp_emb.device)
        lab_out = torch.full((b, big), IGNORE, dtype=torch.long, device=sp_emb.device)
        kind_out = torch.full((b, big), -1, dtype=torch.long)
        for i, (x, y, k) in enumerate(zip(pieces, labels, kinds)):
            n = x.size(0)
            sl = slice(big - n, big) if left_pad else slice(0, n)
            inputs[i, sl] = x
            mask[i, sl] = 1
            lab_out[i, sl] = y
            kind_out[i, sl] = k
        return {
            "inputs_embeds": inputs, "attention_mask": mask, "labels": lab_out,
            "speech_mask": (kind_out == 1).to(sp_emb.device), "lengths": lengths,
        }

    def _too_long(self, lengths: torch.Tensor) -> torch.Tensor:
        limit = self.llm.max_positions()
        if limit is None:
            return torch.zeros_like(lengths, dtype=torch.bool)
        return lengths > limit

    # ------------------------------------------------------------------ training
    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        prefix: torch.Tensor,
        prefix_lengths: torch.Tensor,
        instruction: torch.Tensor,
        instruction_lengths: torch.Tensor,
        src_text: Optional[torch.Tensor] = None,
        src_text_lengths: Optional[torch.Tensor] = None,
        lang_labels: Optional[torch.Tensor] = None,
        lang_labels_lengths: Optional[torch.Tensor] = None,
        replay: Optional[torch.Tensor] = None,
        src_llm: Optional[torch.Tensor] = None,
        src_llm_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        if self.transition_kl_weight > 0 and self.training and not self._teacher:
            self._teacher.append(self._load_teacher(self._teacher_file))
        # a batch whose loss is not finite is skipped; its statistics must not stay in BatchNorm
        running_stats = RunningStatsGuard(self) if self.training else None
        with _cpu_bf16(self.cpu_bf16, speech.device):
            out = self._forward(speech, speech_lengths, text, text_lengths, prefix, prefix_lengths,
                                instruction, instruction_lengths, src_text, src_text_lengths,
                                lang_labels, lang_labels_lengths, replay, src_llm, src_llm_lengths)
        if running_stats is not None and float(out[1].get("nonfinite_loss", 0.0)) > 0:
            running_stats.restore()
        if self.training:
            self.transition_step += 1
        return out

    def _zero_loss_touching_every_parameter(self, like: torch.Tensor) -> torch.Tensor:
        """A zero loss whose graph reaches every trainable parameter: under DistributedDataParallel
        a batch whose utterances are all skipped must still give each parameter a (zero) gradient,
        or the ranks' gradient reduction waits for the LLM's parameters forever and fails."""
        zero = like.float().sum() * 0.0
        for p in self.parameters():
            if p.requires_grad:
                zero = zero + p.float().sum() * 0.0
        return zero

    def _forward(self, speech, speech_lengths, text, text_lengths, prefix, prefix_lengths,
                 instruction, instruction_lengths, src_text, src_text_lengths,
                 lang_labels=None, lang_labels_lengths=None, replay=None, src_llm=None, src_llm_lengths=None):
        enc, enc_lens = self.encode(speech, speech_lengths)
        sp_emb, sp_lens, routing = self.project(enc, enc_lens, return_routing=True)
        # replayed utterances (previous stage) weigh lambda(t); the others 1
        is_replay = None if replay is None else replay.view(-1).to(speech.device) > 0
        lam = self.transition.weight(int(self.transition_step))
        loss_ctc = self._ctc_loss(enc, enc_lens, src_text, src_text_lengths, is_replay, lam)
        aux_loss, aux_stats = self._routing_losses(routing, sp_lens, lang_labels, lang_labels_lengths)
        total_len = prefix_lengths + sp_lens + instruction_lengths + text_lengths + 1
        keep = ~self._too_long(total_len)
        n_skip = int((~keep).sum())
        if n_skip:
            # An utterance that does not fit the LLM context is skipped and counted, never
            # truncated (a truncated target teaches the model to stop early).
            self.n_skipped_too_long += n_skip
            logging.warning(
                f"skipping {n_skip} utterance(s) longer than the LLM context "
                f"({self.llm.max_positions()} positions; lengths {total_len[~keep].tolist()}); "
                f"{self.n_skipped_too_long} so far. Filter long utterances or raise the context size"
            )
        if not bool(keep.any()):
            loss = self._zero_loss_touching_every_parameter(sp_emb)
            stats = {"loss": loss.detach(), "acc": None, "skipped_too_long": float(n_skip), **aux_stats}
            return force_gatherable((loss, uniform_stats(stats, loss.device), torch.tensor(0)), loss.device)

        seq = self.build_sequences(
            sp_emb[keep], sp_lens[keep], prefix[keep], prefix_lengths[keep],
            instruction[keep], instruction_lengths[keep], text[keep], text_lengths[keep],
        )
        use_ot = self.ot_weight > 0
        out = self.llm(seq["inputs_embeds"], seq["attention_mask"], output_hidden_states=use_ot)
        logits = out["logits"]
        stats = {"skipped_too_long": float(n_skip)}
        rep = None if is_replay is None else is_replay[keep]
        if rep is None or not bool(rep.any()):
            loss_ce, acc, _ = self.target_loss(logits, seq["labels"])
        else:
            cur = ~rep
            ce_rep, acc_rep, _ = self.target_loss(logits[rep], seq["labels"][rep])
            loss_ce, acc = lam * ce_rep, None
            if bool(cur.any()):
                ce_cur, acc, _ = self.target_loss(logits[cur], seq["labels"][cur])
                loss_ce = ce_cur + loss_ce
                stats["loss_ce_current"] = ce_cur.detach()
            stats.update(loss_ce_replay=ce_rep.detach(), acc_replay=acc_rep)
        if is_replay is not None:
            stats["transition_weight"] = lam
        if self._teacher and self.training:
            cur = torch.ones_like(keep[keep]) if rep is None else ~rep
            if bool(cur.any()):
                kept = (speech[keep], speech_lengths[keep], prefix[keep], prefix_lengths[keep], instruction[keep],
                        instruction_lengths[keep], text[keep], text_lengths[keep])
                kl = self._kl_to_teacher(logits, seq, cur, kept)
                stats["loss_kl"] = kl.detach()
                loss_ce = loss_ce + self.transition_kl_weight * kl
        stats.update(loss_ce=loss_ce.detach(), acc=acc)
        loss = loss_ce
        if loss_ctc is not None:
            loss = (1 - self.ctc_weight) * loss_ce + self.ctc_weight * loss_ctc
            stats["loss_ctc"] = loss_ctc.detach()
        if aux_loss is not None:
            loss = loss + aux_loss
        if use_ot:
            if src_llm is None:
                raise ValueError(
                    "model_conf.ot_weight > 0 needs the source transcript in LLM tokens (src_llm): give "
                    "the data a src_text file; the task's preprocessor then adds src_llm")
            loss_ot, ot_stats = self.ot_alignment(
                out["hidden_states"], seq["speech_mask"], prefix[keep], prefix_lengths[keep],
                instruction[keep], instruction_lengths[keep], src_llm[keep], src_llm_lengths[keep])
            loss = loss + self.ot_weight * loss_ot
            stats.update(ot_stats)
        stats.update(aux_stats)
        if self.speech_tokens == "ctc_soft" and src_text_lengths is not None:
            # 1.0 when the CTC emits one segment per source token; far below it early in training
            stats["speech_per_src_token"] = sp_lens.sum().float() / src_text_lengths.sum().clamp(min=1)
        stats["loss"] = loss.detach()
        loss = flag_nonfinite_loss(self, loss, stats)
        loss, stats, weight = force_gatherable(
            (loss, uniform_stats(stats, loss.device), torch.tensor(int(keep.sum()))), loss.device)
        return loss, stats, weight

    def text_hidden_states(self, prefix, prefix_lengths, instruction, instruction_lengths, src, src_lengths):
        """A text-only forward: the source transcript where the speech would be.

        Returns the hidden states (tuple over layers, each (B, L, D)) and the mask of
        the transcript's positions. The prompt prefix before it is the speech's, so
        both sides see the same context (the LLM is causal: the instruction after
        them changes neither).
        """
        seq = self.build_sequences(self._embed_ids(src), src_lengths, prefix, prefix_lengths,
                                   instruction, instruction_lengths)
        out = self.llm(seq["inputs_embeds"], seq["attention_mask"], output_hidden_states=True)
        return out["hidden_states"], seq["speech_mask"]

    def ot_alignment(self, hidden, speech_mask, prefix, prefix_lengths, instruction, instruction_lengths,
                     src, src_lengths) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """The OT loss averaged over ``ot_layers`` and its per-layer values to report."""
        if self.ot_detach_text:
            with torch.no_grad():
                t_hidden, t_mask = self.text_hidden_states(prefix, prefix_lengths, instruction,
                                                           instruction_lengths, src, src_lengths)
        else:
            t_hidden, t_mask = self.text_hidden_states(prefix, prefix_lengths, instruction,
                                                       instruction_lengths, src, src_lengths)
        stats: Dict[str, torch.Tensor] = {}
        total = None
        for layer in self.ot_layers:
            h_s, n_s = gather_positions(hidden[layer], speech_mask)
            h_t, n_t = gather_positions(t_hidden[layer], t_mask)
            cost = ot_alignment_cost(h_s, n_s, h_t, n_t, eps=self.ot_eps,
                                     position_weight=self.ot_position_weight, max_iter=self.ot_max_iter)
            has_both = ((n_s > 0) & (n_t > 0)).float()
            mean = (cost * has_both).sum() / has_both.sum().clamp(min=1)
            stats[f"loss_ot_l{layer}"] = mean.detach()
            total = mean if total is None else total + mean
        loss = total / len(self.ot_layers)
        stats["loss_ot"] = loss.detach()
        return loss, stats

    def _routing_losses(self, routing, sp_lens, lang_labels, lang_labels_lengths):
        """Weighted language + balance losses of a routed projector, and what to report."""
        if routing is None:
            return None, {}
        if lang_labels is not None:
            labels = token_labels(lang_labels, lang_labels_lengths, sp_lens, routing.mask.size(1),
                                  routing.group_logits.size(-1), spans=routing.spans,
                                  span_frames=routing.span_frames)
        elif self.lang_loss_weight == 0:  # unlabelled: the balance loss groups tokens by the router
            labels = torch.full(routing.mask.shape, -1, dtype=torch.long, device=routing.mask.device)
        else:
            raise ValueError(
                "model_conf.lang_loss_weight > 0 needs per-token languages: give the training data "
                "its lang_ali file (--*_data_path_and_name_and_type DIR/lang_ali,lang_ali,text; "
                "make_task_dir writes it)"
            )
        stats = routing_stats(routing, labels, self.projector.languages)
        loss = None
        loss_lang = language_loss(routing, labels)
        if loss_lang is not None:
            stats["loss_lang"] = loss_lang.detach()
            if self.lang_loss_weight > 0:
                loss = self.lang_loss_weight * loss_lang
        loss_bal = balance_loss(routing, labels)
        stats["loss_balance"] = loss_bal.detach()
        if self.balance_loss_weight > 0:
            loss = self.balance_loss_weight * loss_bal + (0 if loss is None else loss)
        return loss, stats

    def _ctc_loss(self, enc, enc_lens, src_text, src_text_lengths, is_replay=None,
                  lam: float = 1.0) -> Optional[torch.Tensor]:
        """CTC of the encoder output against the source transcript (None when off); replayed
        utterances' mean weighs ``lam``."""
        if self.ctc is None:
            return None
        if src_text is None:
            raise ValueError(
                "model_conf.ctc_weight > 0 needs the source transcript: give the training and "
                "validation data a src_text file (--*_data_path_and_name_and_type DIR/src_text,src_text,text)"
            )
        target = torch.where(src_text >= 0, src_text + 1, -1)  # class = id + 1; -1 pads stay pads
        if is_replay is None or not bool(is_replay.any()):
            return self.ctc(enc.float(), enc_lens, target, src_text_lengths)
        loss = lam * self.ctc(enc[is_replay].float(), enc_lens[is_replay], target[is_replay],
                              src_text_lengths[is_replay])
        cur = ~is_replay
        if bool(cur.any()):
            loss = loss + self.ctc(enc[cur].float(), enc_lens[cur], target[cur], src_text_lengths[cur])
        return loss

    def _kl_to_teacher(self, logits, seq, cur, batch) -> torch.Tensor:
        """KL(frozen previous-stage model || this model) on the target tokens of current data.

        ``batch``: the kept utterances' (speech, speech_lengths, prefix, prefix_lengths,
        instruction, instruction_lengths, text, text_lengths).
        """
        teacher = self._teacher[0]
        if next(teacher.parameters()).device != logits.device:
            teacher.to(logits.device)
        speech, speech_lengths, *prompt_and_text = batch
        with torch.no_grad():
            t_emb, t_lens = teacher.speech_embeddings(speech, speech_lengths)
            t_seq = teacher.build_sequences(t_emb, t_lens, *prompt_and_text)
            t_logits = teacher.llm(t_seq["inputs_embeds"], t_seq["attention_mask"])["logits"]
        mask = seq["labels"][:, 1:] != IGNORE
        return kl_to_teacher(logits[cur][:, :-1], t_logits[cur][:, :-1], mask[cur])

    def target_loss(self, logits: torch.Tensor, labels: torch.Tensor):
        """Next-token cross-entropy where ``labels`` are set; returns (loss, acc, count)."""
        pred = logits[:, :-1].float()
        gold = labels[:, 1:]
        mask = gold != IGNORE
        loss = torch.nn.functional.cross_entropy(
            pred[mask], gold[mask], label_smoothing=self.lsm_weight
        )
        with torch.no_grad():
            acc = (pred[mask].argmax(-1) == gold[mask]).float().mean()
        return loss, acc.detach(), int(mask.sum())

    def collect_feats(self, speech, speech_lengths, **kwargs) -> Dict[str, torch.Tensor]:
        feats, feats_lengths = self._extract_feats(speech, speech_lengths)
        return {"feats": feats, "feats_lengths": feats_lengths}

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def ctc_greedy(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> List[List[int]]:
        """The CTC head's greedy transcript per utterance: source token ids (repeats merged, blanks dropped).

        It shows what the speech side alone reads, next to the LLM's transcript of the same model.
        """
        if self.ctc is None:
            raise ValueError("this model has no CTC head (model_conf.ctc_weight is 0): nothing to decode greedily")
        enc, enc_lens = self.encode(speech, speech_lengths)
        best = self.ctc.argmax(enc)  # ESPnet's CTC: argmax of its projection
        hyps = []
        for path, n in zip(best, enc_lens.tolist()):
            classes = torch.unique_consecutive(path[:n])
            hyps.append([int(c) - 1 for c in classes if int(c) != 0])  # class k + 1 is token k; 0 is the blank
        return hyps

    @torch.no_grad()
    def generate(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        prefix: torch.Tensor,
        prefix_lengths: torch.Tensor,
        instruction: torch.Tensor,
        instruction_lengths: torch.Tensor,
        **generate_kwargs,
    ) -> List[List[dict]]:
        """n-best hypotheses (token ids and scores) per utterance, batched."""
        bf16 = decode_in_bf16(self.cpu_bf16, speech.size(0), generate_kwargs.get("beam_size", 1))
        with _cpu_bf16(bf16, speech.device):
            sp_emb, sp_lens = self.speech_embeddings(speech, speech_lengths)
            seq = self.build_sequences(
                sp_emb, sp_lens, prefix, prefix_lengths, instruction, instruction_lengths, left_pad=True
            )
            return self.llm.generate(seq["inputs_embeds"], seq["attention_mask"], **generate_kwargs)
