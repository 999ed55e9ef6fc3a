"""Text <-> token ids for the LLM, with either tokenizer the recipe can use.

``bpe``: the recipe's own sentencepiece model and ESPnet token list (a
from-scratch LLM whose vocabulary *is* the token list; ``<sos/eos>`` doubles
as BOS and EOS, ``<blank>`` (id 0) pads).
``hugging_face``: a pretrained LLM's own tokenizer; the token list is its
vocabulary in id order (written by the recipe's token-list stage).

ESPnet's tokenizers are reused; this class only adds the special ids the
LLM needs and a decode that turns ids back into a detokenised string.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Union

from espnet2.text.build_tokenizer import build_tokenizer
from espnet2.text.token_id_converter import TokenIDConverter

TOKEN_TYPES = ("bpe", "hugging_face")


def read_token_list(token_list: Union[str, Path, Sequence[str]]) -> List[str]:
    if isinstance(token_list, (str, Path)):
        path = Path(token_list)
        if not path.is_file():
            raise FileNotFoundError(
                f"token list {path} does not exist; run the recipe's token list stage first"
            )
        tokens = [line.rstrip("\n") for line in path.open(encoding="utf-8")]
    else:
        tokens = list(token_list)
    if not tokens:
        raise ValueError(f"token list {token_list} is empty")
    return tokens


class TextCodec:
    """Encode text to LLM token ids and decode ids back to text."""

    def __init__(
        self,
        token_type: str,
        token_list: Union[str, Path, Sequence[str]],
        bpemodel: Optional[str] = None,
    ):
        if token_type not in TOKEN_TYPES:
            raise ValueError(f"token_type must be one of {TOKEN_TYPES}, got {token_type!r}")
        self.token_type = token_type
        self.token_list = read_token_list(token_list)
        if token_type == "bpe":
            if bpemodel is None or not Path(bpemodel).is_file():
                raise FileNotFoundError(
                    f"token_type bpe needs the sentencepiece model (bpemodel={bpemodel!r}); "
                    "run the recipe's token list stage or fix --bpemodel"
                )
            self._tokenizer = build_tokenizer("bpe", bpemodel)
            self._converter = TokenIDConverter(self.token_list, unk_symbol="<unk>")
            for sym in ("<blank>", "<unk>", "<sos/eos>"):
                if sym not in self.token_list:
                    raise ValueError(
                        f"token list lacks {sym}; build it with the recipe's token list stage "
                        "(ESPnet layout: <blank>, <unk>, pieces..., <sos/eos>)"
                    )
            self.pad_id = self.token_list.index("<blank>")
            self.bos_id = self.eos_id = self.token_list.index("<sos/eos>")
        else:
            from transformers import AutoTokenizer

            if bpemodel is None:
                raise ValueError(
                    "token_type hugging_face needs bpemodel = the LLM's tokenizer "
                    "(local directory or hub name)"
                )
            self._hf = AutoTokenizer.from_pretrained(bpemodel)
            vocab = self._hf.get_vocab()
            for i, tok in enumerate(self.token_list):
                if vocab.get(tok) != i:
                    raise ValueError(
                        f"token list entry {i} ({tok!r}) does not match tokenizer {bpemodel} "
                        f"(which has id {vocab.get(tok)}); regenerate the token list from this tokenizer"
                    )
            self.eos_id = self._hf.eos_token_id
            self.bos_id = self._hf.bos_token_id if self._hf.bos_token_id is not None else self.eos_id
            self.pad_id = self._hf.pad_token_id if self._hf.pad_token_id is not None else self.eos_id

    @property
    def vocab_size(self) -> int:
        return len(self.token_list)

    def encode(self, text: str) -> List[int]:
        if self.token_type == "bpe":
            return self._converter.tokens2ids(self._tokenizer.text2tokens(text))
        return self._hf(text, add_special_tokens=False)["input_ids"]

    def ids_to_tokens(self, ids: Sequence[int]) -> List[str]:
        return [self.token_list[i] if 0 <= i < len(self.token_list) else "<unk>" for i in ids]

    def decode(self, ids: Sequence[int]) -> str:
        ids = [int(i) for i in ids if int(i) not in (self.eos_id, self.pad_id, self.bos_id)]
        if self.token_type == "bpe":
            return self._tokenizer.tokens2text(self.ids_to_tokens(ids))
        return self._hf.decode(ids, skip_special_tokens=True)
