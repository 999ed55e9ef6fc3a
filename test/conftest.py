"""Shared fixtures: a tiny generated mini corpus, built once per test session."""

import os
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


# ---------------------------------------------------------------- the two tiers
#: A test whose call takes longer than this without the ``slow`` mark is listed at the end of
#: the run (test/README.md: ``make test-fast`` must stay under 5 minutes on 2 cores).
UNMARKED_SLOW_SECONDS = 5.0
_unmarked_slow = []


def pytest_runtest_logreport(report):
    if report.when == "call" and report.duration > UNMARKED_SLOW_SECONDS and "slow" not in report.keywords:
        _unmarked_slow.append((report.duration, report.nodeid))


@pytest.hookimpl(tryfirst=True)  # before --durations: the run ends with the slowest tests and the summary
def pytest_terminal_summary(terminalreporter):
    if _unmarked_slow:
        terminalreporter.section("unmarked slow tests")
        terminalreporter.write_line(f"these took over {UNMARKED_SLOW_SECONDS:.0f} s without @pytest.mark.slow; "
                                    "mark them, or make them faster (test/README.md):")
        for seconds, nodeid in sorted(_unmarked_slow, reverse=True):
            terminalreporter.write_line(f"  {seconds:6.1f}s  {nodeid}")


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: two of them share the two cores
        # one torch thread per process, the worker's and the recipe processes it starts
        os.environ.setdefault("OMP_NUM_THREADS", "1")


#: The longest modules (several minutes each on 2 cores), started first under xdist.
LONGEST_MODULES = ("test.egs2.test_tutorial", "test.egs2.test_mini_cs_recipe_smoke",
                   "test.egs2.test_mini_s2st_recipe_smoke")


def pytest_collection_modifyitems(config, items):
    """The longest modules first, then the other modules with slow tests, then the rest, each
    in its own order (stable): under ``-n 2 --dist loadfile`` the long recipe tests start at
    once instead of after the fast modules."""
    slow_modules = {item.module.__name__ for item in items if item.get_closest_marker("slow")}

    def rank(item):
        name = item.module.__name__
        if name in LONGEST_MODULES:
            return LONGEST_MODULES.index(name)
        return len(LONGEST_MODULES) + (name not in slow_modules)

    items.sort(key=rank)
