"""ESPnetCSSTModel: speech encoder -> projector -> decoder-only LLM.

One sequence per utterance::

    <bos> prefix | projected speech | instruction target <eos>

The loss is cross-entropy on the target tokens and <eos> only; everything
before them is context. The same layout (left-padded, without the target)
is the prompt for generation, so training and decoding see identical inputs.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Dict, List, Optional, Tuple

import torch
from typeguard import typechecked

from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel

from espnet_csst.llm.abs_llm import AbsLLM
from espnet_csst.projectors.abs_projector import AbsProjector

IGNORE = -100


@contextmanager
def _no_autocast():
    if torch.is_autocast_enabled():
        with torch.autocast(device_type="cuda", enabled=False):
            yield
    else:
        yield


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
    ):
        super().__init__()
        self.frontend = frontend
        self.specaug = specaug
        self.normalize = normalize
        self.encoder = encoder
        self.projector = projector
        self.llm = llm
        self.lsm_weight = lsm_weight
        self.n_skipped_too_long = 0
        if freeze_encoder:
            for p in self.encoder.parameters():
                p.requires_grad_(False)

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

    def speech_embeddings(self, speech, speech_lengths):
        """Waveform -> LLM-width speech tokens (B, S, D) and their lengths."""
        enc, enc_lens = self.encode(speech, speech_lengths)
        return self.projector(enc, enc_lens)

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
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        sp_emb, sp_lens = self.speech_embeddings(speech, speech_lengths)
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
            loss = sp_emb.sum() * 0.0
            stats = {"loss": loss.detach(), "acc": None, "skipped_too_long": float(n_skip)}
            return force_gatherable((loss, stats, torch.tensor(0)), loss.device)

        seq = self.build_sequences(
            sp_emb[keep], sp_lens[keep], prefix[keep], prefix_lengths[keep],
            instruction[keep], instruction_lengths[keep], text[keep], text_lengths[keep],
        )
        logits = self.llm(seq["inputs_embeds"], seq["attention_mask"])["logits"]
        loss, acc, n_tokens = self.target_loss(logits, seq["labels"])
        stats = {"loss": loss.detach(), "acc": acc, "skipped_too_long": float(n_skip)}
        loss, stats, weight = force_gatherable((loss, stats, torch.tensor(int(keep.sum()))), loss.device)
        return loss, stats, weight

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
        sp_emb, sp_lens = self.speech_embeddings(speech, speech_lengths)
        seq = self.build_sequences(
            sp_emb, sp_lens, prefix, prefix_lengths, instruction, instruction_lengths, left_pad=True
        )
        return self.llm.generate(seq["inputs_embeds"], seq["attention_mask"], **generate_kwargs)
