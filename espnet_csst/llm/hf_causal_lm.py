"""Hugging Face causal LMs (Llama, Qwen2, GPT-2, ...) as the LLM of a CSST model.

Two ways to get one:
* ``model_name_or_path``: ``from_pretrained`` a local directory or hub name,
  optionally with LoRA adapters (peft) and the base frozen;
* ``arch`` + ``config``: a fresh model from a config (the mini recipe's LLM),
  whose vocabulary is the recipe's token list.

Generation is transformers' ``generate`` on ``inputs_embeds`` (KV cache,
greedy or beam search), so no decoding loop is written here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional

import torch

from espnet_csst.llm.abs_llm import AbsLLM


class LLMConfigError(ValueError):
    pass


def _is_local(name: str) -> bool:
    return Path(name).exists() or name.startswith((".", "/", "~"))


class HFCausalLM(AbsLLM):
    def __init__(
        self,
        vocab_size: int,
        pad_id: int = 0,
        bos_id: Optional[int] = None,
        eos_id: Optional[int] = None,
        model_name_or_path: Optional[str] = None,
        arch: str = "llama",
        config: Optional[dict] = None,
        lora: Optional[dict] = None,
        freeze: bool = False,
        trust_remote_code: bool = False,
        torch_dtype: str = "float32",
        gradient_checkpointing: bool = False,
        extra_tokens: int = 0,
    ):
        super().__init__()
        from transformers import AutoConfig, AutoModelForCausalLM

        self.pad_id = pad_id
        self.bos_id = bos_id if bos_id is not None else vocab_size - 1
        self.eos_id = eos_id if eos_id is not None else vocab_size - 1
        dtype = getattr(torch, torch_dtype)
        if model_name_or_path:
            local = _is_local(model_name_or_path)
            if local and not Path(model_name_or_path).expanduser().is_dir():
                raise LLMConfigError(
                    f"llm_conf.model_name_or_path {model_name_or_path} is not a directory; "
                    "give a local save_pretrained directory or a hub name"
                )
            logging.info(f"Loading LLM {model_name_or_path} (trust_remote_code={trust_remote_code})")
            self.model = AutoModelForCausalLM.from_pretrained(
                str(Path(model_name_or_path).expanduser()) if local else model_name_or_path,
                dtype=dtype, trust_remote_code=trust_remote_code, local_files_only=local,
            )
            rows = self.model.get_input_embeddings().weight.shape[0]
            if vocab_size > rows:
                raise LLMConfigError(
                    f"the token list has {vocab_size} entries but the LLM {model_name_or_path} "
                    f"has {rows} embedding rows: the token list does not belong to this LLM. "
                    "Use token_type hugging_face with the LLM's tokenizer (the recipe's token "
                    "list stage writes its vocabulary), or build the LLM from a config"
                )
        else:
            try:
                cfg = AutoConfig.for_model(
                    arch, vocab_size=vocab_size, pad_token_id=pad_id, bos_token_id=self.bos_id,
                    eos_token_id=self.eos_id, **(config or {}),
                )
            except ValueError as e:
                raise LLMConfigError(f"llm_conf.arch {arch!r}: {e}") from e
            self.model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
        self._vocab_size = vocab_size
        # new tokens (S2ST speech units) go after every existing row: ids extra_token_offset...
        self.extra_token_offset = None
        if extra_tokens:
            from espnet_csst.llm.vocab import extend_vocabulary

            self.extra_token_offset = extend_vocabulary(self.model, extra_tokens)
            self._vocab_size = self.extra_token_offset + extra_tokens
            logging.info(f"LLM vocabulary extended by {extra_tokens} tokens "
                         f"(ids {self.extra_token_offset}-{self._vocab_size - 1})")
            if freeze and not lora:
                raise LLMConfigError("llm_conf.freeze would leave the new token embeddings untrained; "
                                     "use llm_conf.lora (the new rows stay trainable) or no freezing")
        if gradient_checkpointing:
            self.model.gradient_checkpointing_enable()

        if lora:
            from peft import LoraConfig, get_peft_model

            lora = dict(lora)
            if extra_tokens and "trainable_token_indices" not in lora:
                # LoRA freezes the embeddings, but the new tokens' rows must learn
                lora["trainable_token_indices"] = list(range(self.extra_token_offset, self._vocab_size))
            self.model = get_peft_model(self.model, LoraConfig(task_type="CAUSAL_LM", **lora))
            logging.info("LLM with LoRA: base weights frozen")
        elif freeze:
            for p in self.model.parameters():
                p.requires_grad_(False)
            logging.info("LLM frozen")

    # -- shape facts ---------------------------------------------------------------
    @property
    def config(self):
        return self.model.config

    def hidden_size(self) -> int:
        cfg = self.config
        return getattr(cfg, "hidden_size", None) or cfg.n_embd

    def num_layers(self) -> int:
        cfg = self.config
        return getattr(cfg, "num_hidden_layers", None) or cfg.n_layer

    def max_positions(self) -> Optional[int]:
        cfg = self.config
        return getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)

    def vocab_size(self) -> int:
        return self._vocab_size

    # -- compute ---------------------------------------------------------------
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.get_input_embeddings()(ids)

    def embed_table(self) -> torch.Tensor:
        return self.model.get_input_embeddings().weight

    def forward(self, inputs_embeds, attention_mask, output_hidden_states: bool = False):
        out = self.model(
            inputs_embeds=inputs_embeds, attention_mask=attention_mask,
            output_hidden_states=output_hidden_states, use_cache=False,
        )
        result: Dict[str, torch.Tensor] = {"logits": out.logits}
        if output_hidden_states:
            result["hidden_states"] = out.hidden_states
        return result

    def _length_with_eos(self, row: List[int]) -> int:
        return row.index(self.eos_id) + 1 if self.eos_id in row else len(row)

    @torch.no_grad()
    def generate(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        max_new_tokens: int = 100,
        beam_size: int = 1,
        nbest: int = 1,
        length_penalty: float = 1.0,
        use_cache: bool = True,
        no_repeat_ngram_size: int = 0,
        logits_processor=None,
    ) -> List[List[dict]]:
        """n-best continuations of left-padded prompt embeddings.

        ``logits_processor``: a transformers ``LogitsProcessorList`` (e.g. one
        that allows only the speech-unit tokens).

        Scores are summed log-probabilities (greedy) or transformers' beam
        scores (length-normalised with ``length_penalty``).
        """
        if nbest > beam_size:
            raise ValueError(f"nbest ({nbest}) must not exceed beam_size ({beam_size})")
        if not use_cache:
            if beam_size > 1 or no_repeat_ngram_size:
                raise ValueError("use_cache=false (recomputation) is implemented for plain greedy search only: "
                                 "use beam_size 1 and no_repeat_ngram_size 0, or keep the KV cache")
            return self._greedy_recompute(inputs_embeds, attention_mask, max_new_tokens, logits_processor)
        out = self.model.generate(
            inputs_embeds=inputs_embeds, attention_mask=attention_mask,
            max_new_tokens=max_new_tokens, num_beams=beam_size, num_return_sequences=nbest,
            do_sample=False, length_penalty=length_penalty, use_cache=use_cache,
            no_repeat_ngram_size=no_repeat_ngram_size,
            logits_processor=logits_processor,
            eos_token_id=self.eos_id, pad_token_id=self.pad_id, bos_token_id=self.bos_id,
            return_dict_in_generate=True, output_scores=True,
        )
        seqs = out.sequences
        if beam_size > 1:
            scores = out.sequences_scores.tolist()
        else:
            trans = self.model.compute_transition_scores(seqs, out.scores, normalize_logits=True)
            scores = [
                float(trans[i, : self._length_with_eos(seqs[i].tolist())].sum())
                for i in range(seqs.size(0))
            ]
        return self._hypotheses(seqs, scores, inputs_embeds.size(0), nbest)

    def _hypotheses(self, seqs: torch.Tensor, scores: List[float], batch: int, nbest: int) -> List[List[dict]]:
        results: List[List[dict]] = []
        for b in range(batch):
            hyps = []
            for k in range(nbest):
                row = seqs[b * nbest + k].tolist()
                row = row[: self._length_with_eos(row)]
                row = [t for t in row if t not in (self.eos_id, self.pad_id)]
                hyps.append({"token_int": row, "score": float(scores[b * nbest + k])})
            results.append(hyps)
        return results

    def _greedy_recompute(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int,
                          logits_processor=None) -> List[List[dict]]:
        """Greedy search that runs the whole sequence through the LLM at every step (no KV cache).

        transformers' ``generate`` (5.x) builds a cache whatever ``use_cache``
        says, so recomputation is written out here: it is what ``--use_cache
        false`` promises (less memory, the reference the KV cache is measured
        against in bench/bench_decode.py). Same tokens and scores as greedy
        ``generate`` with the cache.
        """
        embeds, mask = inputs_embeds, attention_mask.long()
        b = embeds.size(0)
        tokens = torch.full((b, 0), self.pad_id, dtype=torch.long, device=embeds.device)
        scores = torch.zeros(b, device=embeds.device)
        done = torch.zeros(b, dtype=torch.bool, device=embeds.device)
        for _ in range(max_new_tokens):
            # left-padded prompts: positions count only the real tokens, as generate() does
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = self.model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions,
                                use_cache=False).logits[:, -1].float()
            if logits_processor is not None:
                prefix_ids = torch.cat([torch.full((b, 1), self.pad_id, device=embeds.device), tokens], 1)
                logits = logits_processor(prefix_ids, logits)
            logprobs = logits.log_softmax(-1)
            nxt = logprobs.argmax(-1)
            scores = scores + torch.where(done, torch.zeros_like(scores), logprobs.gather(1, nxt[:, None])[:, 0])
            nxt = torch.where(done, torch.full_like(nxt, self.pad_id), nxt)
            tokens = torch.cat([tokens, nxt[:, None]], 1)
            done = done | (nxt == self.eos_id)
            if bool(done.all()):
                break
            embeds = torch.cat([embeds, self.embed(nxt[:, None]).to(embeds.dtype)], 1)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], 1)  # ended rows: ignored from here
        return self._hypotheses(tokens, scores.tolist(), b, 1)
