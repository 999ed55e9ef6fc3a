#!/usr/bin/env python3
"""Token list stage: the vocabulary of the LLM.

``--token_type bpe``: train a sentencepiece model on the given text files
(Kaldi ``utt text`` files with --kaldi, or plain lines) plus every prompt
string the templates can produce, and write the ESPnet token list
(``<blank>``, ``<unk>``, pieces..., ``<sos/eos>``).
``--token_type hugging_face``: write a pretrained tokenizer's vocabulary in
id order, so the token list and the LLM's embedding rows agree.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from espnet_csst.llm.prompts import PromptTemplates
from espnet_csst.utils.fileio import atomic_write_text


def read_text_lines(path: Path, kaldi: bool):
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split(maxsplit=1)[1] if kaldi and " " in line else ("" if kaldi else line)
        if text.strip():
            yield text


def train_bpe(args):
    import sentencepiece as spm

    lines = []
    for path in args.text:
        lines += list(read_text_lines(path, kaldi=False))
    for path in args.kaldi_text:
        lines += list(read_text_lines(path, kaldi=True))
    # prompts are rare in the corpus but occur in every training sequence: make them whole pieces
    prompts = PromptTemplates().all_strings(args.languages)
    lines += prompts * 20
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=args.out, delete=False, encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
        train_file = f.name
    try:
        spm.SentencePieceTrainer.train(
            input=train_file, model_prefix=str(args.out / "bpe"), vocab_size=args.vocab_size,
            model_type=args.bpe_type, character_coverage=1.0, input_sentence_size=10_000_000,
            shuffle_input_sentence=True, minloglevel=2,
        )
    finally:
        Path(train_file).unlink()
    sp = spm.SentencePieceProcessor(model_file=str(args.out / "bpe.model"))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    tokens = ["<blank>", "<unk>"] + [p for p in pieces if p not in ("<unk>", "<s>", "</s>")] + ["<sos/eos>"]
    atomic_write_text(args.out / "tokens.txt", "\n".join(tokens) + "\n")
    logging.info(f"sentencepiece {args.bpe_type} model {args.out / 'bpe.model'} from {len(lines)} lines; "
                 f"token list {args.out / 'tokens.txt'} ({len(tokens)} tokens)")


def export_hf(args):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    vocab = tok.get_vocab()
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise SystemExit(f"tokenizer {args.tokenizer} has gaps in its ids; cannot write a token list")
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "tokens.txt", "".join(t + "\n" for t, _ in by_id))
    logging.info(f"token list {args.out / 'tokens.txt'}: {len(by_id)} tokens of {args.tokenizer}")


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--token_type", choices=["bpe", "hugging_face"], default="bpe")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--text", type=Path, nargs="*", default=[], help="plain text files (one sentence per line)")
    p.add_argument("--kaldi_text", type=Path, nargs="*", default=[], help="Kaldi text files (utt text)")
    p.add_argument("--languages", nargs="*", default=["es", "en", "cs"])
    p.add_argument("--vocab_size", type=int, default=1000)
    p.add_argument("--bpe_type", default="unigram", choices=["unigram", "bpe"])
    p.add_argument("--tokenizer", help="hugging_face: tokenizer dir or hub name")
    return p


def main(argv=None):
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    if args.token_type == "bpe":
        if not args.text and not args.kaldi_text:
            print("make_token_list: error: give --text or --kaldi_text files", file=sys.stderr)
            return 2
        train_bpe(args)
    else:
        if not args.tokenizer:
            print("make_token_list: error: --token_type hugging_face needs --tokenizer", file=sys.stderr)
            return 2
        export_hf(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
