"""The make_mini_corpus command line: summary and one-line errors."""

import pytest
import subprocess
import sys

from espnet_csst.bin import make_mini_corpus
from test.conftest import TINY_SIZES


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "espnet_csst.bin.make_mini_corpus", *args],
                          capture_output=True, text=True)


def test_unknown_pair_is_one_error_line(tmp_path):
    r = run_cli("--out", str(tmp_path / "o"), "--pair", "fr-de")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "make_mini_corpus: error: unknown --pair 'fr-de'; available: es-en, zh-en"]
    assert not (tmp_path / "o").exists()


def test_size_zero_is_one_error_line(tmp_path):
    r = run_cli("--out", str(tmp_path / "o"), "--n_test_cs", "0")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--n_test_cs must be a positive integer" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_unwritable_out_is_one_error_line(tmp_path):
    (tmp_path / "f").write_text("")
    r = run_cli("--out", str(tmp_path / "f" / "o"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "cannot write there" in r.stderr


@pytest.mark.slow
def test_summary_reports_statistics(tmp_path, capsys):
    sizes = [f"--{k}={v}" for k, v in TINY_SIZES.items()]
    assert make_mini_corpus.main(["--out", str(tmp_path / "c"), "--nj", "2", *sizes]) == 0
    out = capsys.readouterr().out
    for column in ("utts", "hours", "spk", "CMI", "sw/utt", "train_cs", "audio hours per wall minute"):
        assert column in out
