"""ESPnetUnitLMModel: speech-to-speech translation by an LLM over discrete units,
trained with scheduled interleaved speech-text sequences (DESIGN.md 3.4).

The LLM's vocabulary is its text vocabulary plus K speech-unit tokens (unit k
is token ``unit_offset + k``). With ``n_src_units`` > 0 the source speech has
an inventory of its own (e.g. units of a Whisper layer, which change less with
the voice, for the source; MFCC units the vocoder speaks well for the target):
source unit k is then token ``unit_offset + K + k``. One training sequence per
utterance pair::

    <bos> prefix | source units | instruction | target units <eos>
                                               '---- loss ------'

With interleaving, each aligned word of either side is written as its text
tokens instead of its units with probability p(t) (``interleave_schedule``,
``espnet_csst/schedules/interleave.py``): early in training the sequences are
mostly the text translation the LLM already knows, at the end pure units.
Source and target sides are switched separately (``interleave_src/tgt``).

Validation and decoding see pure units (p = 0), the test condition; so
``valid.acc`` is the next-unit accuracy of speech-only S2ST. Decoding
(``generate``) continues a pure-unit source prompt with unit tokens only.

The interleaving draws come from ``random.Random(seed, step)``, and step is the
``interleave_step`` buffer, so a resumed run draws what an uninterrupted one
would have drawn and the schedule continues where it stopped.
"""

from __future__ import annotations

import random
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from typeguard import typechecked

from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel

from espnet_csst.llm.abs_llm import AbsLLM
from espnet_csst.models.csst_model import _cpu_bf16, decode_in_bf16, flag_nonfinite_loss, resolve_cpu_bf16
from espnet_csst.schedules.interleave import InterleaveSchedule
from espnet_csst.units.interleave import draw_replacements, interleave
from espnet_csst.utils.dist_stats import uniform_stats

IGNORE = -100


def unpad(x: torch.Tensor, lengths: torch.Tensor) -> List[List[int]]:
    return [x[i, : int(lengths[i])].tolist() for i in range(x.size(0))]


def split_words(words: torch.Tensor, words_lengths: torch.Tensor, word_lens: torch.Tensor,
                word_lens_lengths: torch.Tensor) -> List[List[List[int]]]:
    """Flattened word tokens + per-word token counts -> per utterance, a token list per word."""
    out = []
    for i in range(words.size(0)):
        flat = words[i, : int(words_lengths[i])].tolist()
        counts = word_lens[i, : int(word_lens_lengths[i])].tolist()
        pieces, pos = [], 0
        for c in counts:
            pieces.append(flat[pos : pos + c])
            pos += c
        out.append(pieces)
    return out


class UnitOnlyLogits:
    """A transformers logits processor that allows only the unit tokens and EOS."""

    def __init__(self, unit_offset: int, n_units: int, eos_id: int):
        self.first, self.last, self.eos_id = unit_offset, unit_offset + n_units, eos_id

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        masked = torch.full_like(scores, float("-inf"))
        masked[:, self.first : self.last] = scores[:, self.first : self.last]
        masked[:, self.eos_id] = scores[:, self.eos_id]
        return masked


class ESPnetUnitLMModel(AbsESPnetModel):
    @typechecked
    def __init__(
        self,
        llm: AbsLLM,
        n_units: int,
        unit_offset: int,
        n_src_units: int = 0,
        interleave_schedule: str = "step",
        interleave_p0: float = 0.9,
        interleave_delta: float = 0.1,
        interleave_interval: int = 300,
        interleave_src: bool = True,
        interleave_tgt: bool = True,
        lsm_weight: float = 0.0,
        seed: int = 0,
        cpu_bf16=False,
    ):
        super().__init__()
        self.llm = llm
        self.n_units, self.unit_offset = n_units, unit_offset
        if n_src_units < 0:
            raise ValueError(f"n_src_units must be >= 0 (0: the source shares the target's units), got {n_src_units}")
        self.n_src_units = n_src_units
        # a source inventory of its own comes after the target units; 0: both sides share one
        self.src_unit_offset = unit_offset + n_units if n_src_units else unit_offset
        n_all = n_units + n_src_units
        if unit_offset + n_all > llm.vocab_size():
            raise ValueError(f"units {unit_offset}..{unit_offset + n_all - 1} do not fit the LLM's "
                             f"{llm.vocab_size()} tokens; build the LLM with llm_conf extra_tokens={n_all}")
        self.schedule = InterleaveSchedule(interleave_schedule, interleave_p0, interleave_delta,
                                           interleave_interval)
        self.interleave_src, self.interleave_tgt = interleave_src, interleave_tgt
        self.lsm_weight = lsm_weight
        self.seed = seed
        self.cpu_bf16 = resolve_cpu_bf16(cpu_bf16)
        # the schedule's clock: in the state dict, so checkpoints and --resume carry it
        self.register_buffer("interleave_step", torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------------ sequences
    def current_ratio(self) -> float:
        return self.schedule.ratio(int(self.interleave_step)) if self.training else 0.0

    def offset(self, side: str) -> int:
        """The token id of unit 0 of a side ("src" or "tgt")."""
        return self.src_unit_offset if side == "src" else self.unit_offset

    def pure_units(self, units, lengths, side: str):
        """Per utterance: the unit tokens of a side without interleaving, all marked as units."""
        offset = self.offset(side)
        return [([offset + u for u in us], [True] * len(us)) for us in unpad(units, lengths)]

    def side_sequences(self, side: str, units, units_lengths, spans, spans_lengths, words, words_lengths,
                       word_lens, word_lens_lengths, p: float, enabled: bool, rng: random.Random):
        """Per utterance: token ids of one side (units, some words as text) and their unit mask."""
        if spans is None or not enabled or p <= 0.0:
            return self.pure_units(units, units_lengths, side)
        unit_lists = unpad(units, units_lengths)
        span_lists = [[tuple(s) for s in spans[i, : int(spans_lengths[i])].tolist()] for i in range(units.size(0))]
        word_lists = split_words(words, words_lengths, word_lens, word_lens_lengths)
        out = []
        for us, sp, wt in zip(unit_lists, span_lists, word_lists):
            flags = draw_replacements(len(sp), p, rng)
            out.append(interleave(us, sp, wt, flags, self.offset(side)))
        return out

    def build_batch(self, prefixes, sources, instructions, targets, check_length: bool = True):
        """Right-padded ids, labels (target + EOS only) and masks of whole training sequences.

        ``check_length``: refuse sequences longer than the LLM's positions (training
        must not silently run past them; scoring a long test utterance may).
        """
        seqs, labels, unit_pos = [], [], []
        eos = self.llm.eos_id
        for p, (s, _), ins, (t, t_is_unit) in zip(prefixes, sources, instructions, targets):
            head = p + s + ins
            seqs.append(head + t + [eos])
            labels.append([IGNORE] * len(head) + t + [eos])
            unit_pos.append([False] * len(head) + list(t_is_unit) + [False])
        n = max(len(x) for x in seqs)
        limit = self.llm.max_positions()
        if check_length and limit is not None and n > limit:
            raise ValueError(f"a training sequence has {n} tokens but the LLM takes {limit} positions; "
                             "filter long utterances (s2st.sh --max_units) or raise max_position_embeddings")
        pad = self.llm.pad_id
        ids = torch.tensor([x + [pad] * (n - len(x)) for x in seqs])
        lab = torch.tensor([x + [IGNORE] * (n - len(x)) for x in labels])
        units = torch.tensor([x + [False] * (n - len(x)) for x in unit_pos])
        mask = torch.tensor([[1] * len(x) + [0] * (n - len(x)) for x in seqs])
        return ids, lab, units, mask

    # ------------------------------------------------------------------ training
    def forward(
        self,
        src_units: torch.Tensor,
        src_units_lengths: torch.Tensor,
        tgt_units: torch.Tensor,
        tgt_units_lengths: torch.Tensor,
        prefix: torch.Tensor,
        prefix_lengths: torch.Tensor,
        instruction: torch.Tensor,
        instruction_lengths: torch.Tensor,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        p = self.current_ratio()
        step = int(self.interleave_step)
        rng = random.Random(self.seed * 1_000_003 + step)

        def side(name: str, enabled: bool):
            get = kwargs.get
            return self.side_sequences(
                name, src_units if name == "src" else tgt_units,
                src_units_lengths if name == "src" else tgt_units_lengths,
                get(f"{name}_spans"), get(f"{name}_spans_lengths"), get(f"{name}_words"),
                get(f"{name}_words_lengths"), get(f"{name}_word_lens"), get(f"{name}_word_lens_lengths"),
                p, enabled, rng,
            )

        sources = side("src", self.interleave_src)
        targets = side("tgt", self.interleave_tgt)
        ids, labels, unit_pos, mask = self.build_batch(
            unpad(prefix, prefix_lengths), sources, unpad(instruction, instruction_lengths), targets)
        device = src_units.device
        ids, labels, unit_pos, mask = ids.to(device), labels.to(device), unit_pos.to(device), mask.to(device)
        if self.training:
            self.interleave_step += 1

        logits, labels, unit_pos = self.next_token_logits(ids, labels, unit_pos, mask)
        valid = labels != IGNORE
        loss = F.cross_entropy(logits[valid], labels[valid], label_smoothing=self.lsm_weight)
        with torch.no_grad():
            hit = logits.argmax(-1) == labels
            acc = hit[valid].float().mean()
            unit_acc = hit[unit_pos].float().mean() if unit_pos.any() else torch.tensor(float("nan"))
            text_share = 1.0 - unit_pos.sum().float() / valid.sum().clamp(min=1).float()
        batch_size = src_units.size(0)
        stats = dict(loss=loss.detach(), acc=acc, unit_acc=unit_acc, interleave_p=torch.tensor(p),
                     text_share=text_share)
        loss = flag_nonfinite_loss(self, loss, stats)
        return force_gatherable((loss, uniform_stats(stats, device), batch_size), device)

    def next_token_logits(self, ids, labels, unit_pos, mask):
        """The LLM's logits at every position but the last, with the labels and unit mask they predict."""
        with _cpu_bf16(self.cpu_bf16, ids.device):
            logits = self.llm(self.llm.embed(ids), mask)["logits"]
        return logits[:, :-1].float(), labels[:, 1:], unit_pos[:, 1:]

    @torch.no_grad()
    def unit_accuracy(self, src_units, src_units_lengths, tgt_units, tgt_units_lengths, prefix, prefix_lengths,
                      instruction, instruction_lengths) -> List[Tuple[int, int]]:
        """Teacher-forced next-unit accuracy on pure units: (correct, total) per utterance."""
        ids, labels, unit_pos, mask = self.build_batch(
            unpad(prefix, prefix_lengths), self.pure_units(src_units, src_units_lengths, "src"),
            unpad(instruction, instruction_lengths), self.pure_units(tgt_units, tgt_units_lengths, "tgt"),
            check_length=False)
        device = src_units.device
        logits, labels, unit_pos = self.next_token_logits(ids.to(device), labels.to(device), unit_pos.to(device),
                                                          mask.to(device))
        hit = (logits.argmax(-1) == labels) & unit_pos
        return list(zip(hit.sum(1).tolist(), unit_pos.sum(1).tolist()))

    def collect_feats(self, **kwargs) -> Dict[str, torch.Tensor]:
        return {}  # units need no feature statistics

    # ------------------------------------------------------------------ decoding
    @torch.no_grad()
    def generate(
        self,
        src_units: torch.Tensor,
        src_units_lengths: torch.Tensor,
        prefix: torch.Tensor,
        prefix_lengths: torch.Tensor,
        instruction: torch.Tensor,
        instruction_lengths: torch.Tensor,
        max_new_tokens: int = 200,
        beam_size: int = 1,
        nbest: int = 1,
        length_penalty: float = 1.0,
        use_cache: bool = True,
    ) -> List[List[dict]]:
        """Target units for pure-unit sources: n-best ``{"units", "score"}`` per utterance."""
        from transformers import LogitsProcessorList

        heads = [p + [self.src_unit_offset + u for u in s] + ins for p, s, ins in zip(
            unpad(prefix, prefix_lengths), unpad(src_units, src_units_lengths),
            unpad(instruction, instruction_lengths))]
        n = max(len(h) for h in heads)
        pad = self.llm.pad_id
        # left padding: every continuation starts at the same position
        ids = torch.tensor([[pad] * (n - len(h)) + h for h in heads], device=src_units.device)
        mask = torch.tensor([[0] * (n - len(h)) + [1] * len(h) for h in heads], device=src_units.device)
        processors = LogitsProcessorList([UnitOnlyLogits(self.unit_offset, self.n_units, self.llm.eos_id)])
        with _cpu_bf16(decode_in_bf16(self.cpu_bf16, ids.size(0), beam_size), ids.device):
            hyps = self.llm.generate(self.llm.embed(ids), mask, max_new_tokens=max_new_tokens,
                                     beam_size=beam_size, nbest=nbest, length_penalty=length_penalty,
                                     use_cache=use_cache, logits_processor=processors)
        return [[{"units": self.tokens_to_units(h["token_int"]), "score": h["score"]} for h in nb]
                for nb in hyps]

    def tokens_to_units(self, tokens: Sequence[int]) -> List[int]:
        return [t - self.unit_offset for t in tokens if self.unit_offset <= t < self.unit_offset + self.n_units]
