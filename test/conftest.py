"""Shared fixtures: a tiny generated mini corpus, built once per test session."""

from pathlib import Path

import pytest

from espnet_csst.synth.corpus import CorpusOptions, build_corpus

TINY_SIZES = dict(
    n_train_asr_en=12, n_train_mono=20, n_train_cs=10, n_dev_mono=6, n_dev_cs=8,
    n_test_mono=6, n_test_cs=10, n_s2st_train=6, n_s2st_dev=3, n_s2st_test=3, n_text=40,
)


def tiny_corpus(out: Path, nj: int = 2, seed: int = 3, pair: str = "es-en") -> dict:
    return build_corpus(out, CorpusOptions(pair=pair, seed=seed, **TINY_SIZES), nj=nj)


@pytest.fixture(scope="session")
def mini_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "mini"
    tiny_corpus(out)
    return out


# ---------------------------------------------------------------- CSST model fixtures
@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models run far faster on one thread than on contended cores."""
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_bpe(tmp_path_factory) -> dict:
    """A sentencepiece model (vocab 150) + ESPnet token list from a few hundred generated lines."""
    from test.csst_utils import build_token_list, tiny_sentences

    d = tmp_path_factory.mktemp("bpe")
    text = d / "text.txt"
    text.write_text("\n".join(tiny_sentences()) + "\n", encoding="utf-8")
    return build_token_list(d / "token_list", text)


@pytest.fixture(scope="session")
def tiny_codec(tiny_bpe):
    from espnet_csst.llm.tokens import TextCodec

    return TextCodec("bpe", tiny_bpe["token_list"], str(tiny_bpe["bpemodel"]))


@pytest.fixture(scope="session")
def tiny_preprocessor(tiny_bpe):
    from espnet_csst.train.preprocessor import CSSTPreprocessor

    return CSSTPreprocessor(train=False, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                            bpemodel=str(tiny_bpe["bpemodel"]))
