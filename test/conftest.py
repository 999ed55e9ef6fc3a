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
