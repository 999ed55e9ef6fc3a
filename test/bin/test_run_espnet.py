"""run_espnet: ESPnet's binaries with g2p_en deferred (no NLTK download attempts)."""

import pytest
import subprocess
import sys

from test.csst_utils import subprocess_env


def run(*args):
    return subprocess.run([sys.executable, "-m", "espnet_csst.bin.run_espnet", *args], capture_output=True,
                          text=True, env=subprocess_env(), timeout=300)


@pytest.mark.slow
def test_runs_an_espnet_binary_with_its_arguments():
    proc = run("tokenize_text", "--help")  # imports ESPnet's tokenizers, g2p_en among them
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--token_type" in proc.stdout and "nltk_data" not in proc.stderr


def test_without_a_binary_it_says_how_to_call_it():
    proc = run()
    assert proc.returncode != 0 and "usage: python -m espnet_csst.bin.run_espnet BINARY" in proc.stderr
