#!/usr/bin/env python3
"""Turn a text LLM's weights into the initialisation of a unit LM (extended vocabulary).

The mini recipe pre-trains its LLM on text (``espnet_csst.bin.llm_pretrain``,
``llm.pth`` with the text vocabulary). The unit LM has K more token rows, so
ESPnet's ``--init_param llm.pth::llm`` cannot load it as is (shape mismatch).
This builds the text LLM from the unit LM's training config, loads the text
weights, appends the K unit rows exactly as ``UnitLMTask`` does, and saves
the result for ``--init_param <out>::llm``. A pretrained hub/local LLM
(``llm_conf.model_name_or_path``) needs none of this: the task extends it.

    python -m espnet_csst.bin.extend_llm_vocab --config conf/train_unit_lm.yaml \\
        --token_list data/token_list/bpe_unigram1000/tokens.txt --n_units 200 \\
        --llm exp/llm_pretrain/llm.pth --out exp/unit_lm_init/llm.pth
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch
import yaml

from espnet_csst.llm.hf_causal_lm import HFCausalLM
from espnet_csst.llm.tokens import read_token_list
from espnet_csst.llm.vocab import extend_vocabulary
from espnet_csst.utils.fileio import atomic_open


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, type=Path, help="the unit LM's training YAML (llm_conf)")
    p.add_argument("--token_list", required=True, type=Path, help="the text vocabulary of the LLM")
    p.add_argument("--n_units", required=True, type=int, help="the target's units (K)")
    p.add_argument("--n_src_units", type=int, default=0,
                   help="units of the source's own k-means, after the target's (0: the source shares them)")
    p.add_argument("--llm", required=True, type=Path, help="text LLM state dict (llm_pretrain's llm.pth)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", type=int, default=0, help="seeds the new rows' initialisation")
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s: %(message)s")
    conf = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
    llm_conf = dict(conf.get("llm_conf") or {})
    if llm_conf.get("model_name_or_path"):
        raise SystemExit(f"{args.config} loads a pretrained LLM ({llm_conf['model_name_or_path']}); "
                         "UnitLMTask extends its vocabulary itself: train without --init_param")
    llm_conf.pop("lora", None)  # LoRA adapters come with training, not with the initial weights
    tokens = read_token_list(args.token_list)
    llm = HFCausalLM(vocab_size=len(tokens), pad_id=tokens.index("<blank>"),
                     bos_id=tokens.index("<sos/eos>"), eos_id=tokens.index("<sos/eos>"), **llm_conf)
    state = torch.load(args.llm, map_location="cpu", weights_only=True)
    try:
        llm.load_state_dict(state)
    except RuntimeError as e:
        raise SystemExit(f"{args.llm} is not a text LLM of {args.config}'s llm_conf with the "
                         f"{len(tokens)} tokens of {args.token_list}: {e}") from None
    torch.manual_seed(args.seed)
    if args.n_units < 1 or args.n_src_units < 0:
        raise SystemExit(f"--n_units must be >= 1 and --n_src_units >= 0, got {args.n_units} and {args.n_src_units}")
    n_all = args.n_units + args.n_src_units
    first = extend_vocabulary(llm.model, n_all)
    with atomic_open(args.out, "wb") as f:
        torch.save(llm.state_dict(), f)
    logging.info(f"{args.llm} + {n_all} unit tokens (ids {first}-{first + n_all - 1}"
                 + (f"; source units from {first + args.n_units}" if args.n_src_units else "") + f") -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
