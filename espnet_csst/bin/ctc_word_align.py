#!/usr/bin/env python3
"""Word alignments (word_ali) for transcribed audio by CTC forced alignment with the recipe's ASR model.

    python -m espnet_csst.bin.ctc_word_align --asr_config exp/asr_en/config.yaml \\
        --asr_model exp/asr_en/model.pth --wav_scp data/s2st_train/wav.scp.en \\
        --text data/s2st_train/text.en --out data/s2st_train/word_ali.en [--lang en]

S2ST interleaving (DESIGN.md 3.4) needs the time span of every word; a
corpus that does not ship them gets them here. Each transcript word is
normalised like the ASR's training text (:func:`normalize_for_asr`), split
into the model's character tokens (characters it never saw become
``<unk>``), and the words, joined by ``<space>``, are force-aligned to the
model's CTC output (:mod:`espnet_csst.units.align`). The output is the
data-dir ``word_ali`` format, one line per word in C-sorted utterance order::

    <utt> <start_s> <end_s> <word> <lang>

with the word in the spoken form the data validator compares against the
transcript (lower-cased, edge punctuation stripped). Utterances whose audio
cannot be read, that have no transcript or no words, or whose transcript
needs more CTC frames than the audio gives are skipped with a warning and
counted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet_csst.scoring.asr import iter_audio_batches, normalize_for_asr
from espnet_csst.scoring.ctc_asr import CTCGreedyASR
from espnet_csst.data.datadir import WordAli, c_sorted, format_word_ali, read_map
# The validator's own rule for comparing word_ali words with a transcript: reusing it keeps them equal.
from espnet_csst.data.validate import _spoken_form
from espnet_csst.units.align import TranscriptTooLongError, spans_to_seconds, word_frame_spans
from espnet_csst.utils.fileio import atomic_open

SPACE = "<space>"
UNK = "<unk>"


class WordTokenizer:
    """Transcript words -> (spoken form, token ids) in the ASR model's character vocabulary."""

    def __init__(self, asr: CTCGreedyASR):
        from espnet2.text.token_id_converter import TokenIDConverter

        if asr.train_args.token_type != "char":
            raise ValueError(f"CTC word alignment needs a character-token ASR model, this one uses "
                             f"token_type {asr.train_args.token_type!r}; train it with scripts/train_asr.sh")
        for sym in (SPACE, UNK):
            if sym not in asr.token_list:
                raise ValueError(f"the ASR token list has no {sym}; it must come from tokenize_text --token_type char")
        self.tokenizer = asr.tokenizer
        self.converter = TokenIDConverter(asr.token_list, unk_symbol=UNK)
        self.space_id = asr.token_list.index(SPACE)

    def words(self, transcript: str) -> List[Tuple[str, List[int]]]:
        out = []
        for raw in transcript.split():
            spoken = _spoken_form([raw])
            chars = normalize_for_asr(raw).replace(" ", "")
            if spoken and chars:  # a bare punctuation mark is no spoken word
                out.append((spoken[0], self.converter.tokens2ids(self.tokenizer.text2tokens(chars))))
        return out


def words_per_utterance(wav_scp: Dict[str, str], text: Dict[str, str], wt: WordTokenizer,
                        skipped: Counter) -> Dict[str, List[Tuple[str, List[int]]]]:
    """{utt: [(spoken word, token ids), ...]} for the utterances of wav_scp that have words to align."""
    words_of: Dict[str, List[Tuple[str, List[int]]]] = {}
    for utt in wav_scp:
        if utt not in text:
            logging.warning(f"{utt}: skipped: no transcript in --text")
            skipped["no transcript"] += 1
            continue
        words = wt.words(text[utt])
        if not words:
            logging.warning(f"{utt}: skipped: the transcript {text[utt]!r} has no words")
            skipped["no words"] += 1
            continue
        words_of[utt] = words
    extra = [u for u in text if u not in wav_scp]
    if extra:
        logging.warning(f"{len(extra)} utterance(s) of --text are not in --wav_scp and are ignored (first: {extra[0]})")
    return words_of


def align_utterances(asr: CTCGreedyASR, wt: WordTokenizer, wav_scp: Dict[str, str],
                     words_of: Dict[str, List[Tuple[str, List[int]]]], lang: str, batch_size: int,
                     audio_root: Optional[Path], skipped: Counter) -> Dict[str, List[WordAli]]:
    """{utt: word alignments}; utterances that cannot be aligned are logged and counted in ``skipped``."""
    from tqdm import tqdm

    unreadable: Dict[str, str] = {}
    result: Dict[str, List[WordAli]] = {}
    with tqdm(total=len(words_of), desc="aligning", unit="utt") as bar:
        for batch in iter_audio_batches(wav_scp, batch_size, audio_root, unreadable, keys=list(words_of)):
            logps = asr.ctc_log_probs([wav for _, wav, _ in batch], [fs for _, _, fs in batch])
            for (utt, wav, fs), lp in zip(batch, logps):
                words = words_of[utt]
                try:
                    if len(lp) == 0:
                        raise TranscriptTooLongError("the audio is too short for the encoder (no CTC frames)")
                    spans = word_frame_spans(lp, [ids for _, ids in words], wt.space_id, asr.blank)
                except TranscriptTooLongError as e:
                    logging.warning(f"{utt}: skipped: {e} ({len(words)} words, {len(wav) / fs:.2f} s)")
                    skipped["transcript longer than the CTC output"] += 1
                    continue
                times = spans_to_seconds(spans, len(lp), len(wav) / fs)
                result[utt] = [WordAli(s, e, w, lang) for (s, e), (w, _) in zip(times, words)]
            bar.update(len(batch))
        bar.update(len(words_of) - bar.n)
    if unreadable:
        skipped["unreadable audio"] += len(unreadable)
    return result


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--asr_config", type=Path, required=True, help="config.yaml of the ASR experiment")
    p.add_argument("--asr_model", type=Path, required=True, help="model state dict (e.g. exp/asr_en/model.pth)")
    p.add_argument("--wav_scp", type=Path, required=True, help="Kaldi wav.scp (e.g. data/x/wav.scp.en)")
    p.add_argument("--text", type=Path, required=True, help="Kaldi text with the transcripts (e.g. data/x/text.en)")
    p.add_argument("--out", type=Path, required=True, help="output word_ali file (e.g. data/x/word_ali.en)")
    p.add_argument("--lang", default="en", help="language tag of the 5th column (default: en)")
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--audio_root", type=Path, default=None,
                   help="directory relative wav.scp paths are resolved against (default: the working directory)")
    return p


def main(argv=None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    if args.batch_size < 1:
        parser.error(f"--batch_size must be at least 1, got {args.batch_size}")
    if not args.lang or any(c.isspace() for c in args.lang):
        parser.error(f"--lang must be one word, got {args.lang!r}")
    wav_scp, text = read_map(args.wav_scp), read_map(args.text)
    if not wav_scp:
        raise ValueError(f"{args.wav_scp} is empty; nothing to align")
    asr = CTCGreedyASR.from_files(args.asr_config, args.asr_model, args.device)
    wt = WordTokenizer(asr)
    skipped: Counter = Counter()
    words_of = words_per_utterance(wav_scp, text, wt, skipped)
    logging.info(f"aligning {len(words_of)} utterances of {args.wav_scp} with {args.asr_model}")
    alignments = align_utterances(asr, wt, wav_scp, words_of, args.lang, args.batch_size, args.audio_root, skipped)
    with atomic_open(args.out) as f:
        for utt in c_sorted(alignments):
            f.write(format_word_ali(utt, alignments[utt]))
    n_words = sum(len(w) for w in alignments.values())
    logging.info(f"wrote {args.out}: {n_words} words of {len(alignments)} utterances")
    if skipped:
        logging.warning(f"skipped {sum(skipped.values())} of {len(wav_scp)} utterances: "
                        + ", ".join(f"{n} {why}" for why, n in skipped.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
