"""The mini_cs recipe's data stages, run as a user would, from a path with a space."""

import json
import pytest
import os
import subprocess
from pathlib import Path

from espnet_csst.data.datadir import read_map
from test.conftest import TINY_SIZES

RECIPE = Path(__file__).resolve().parents[2] / "egs2" / "mini_cs" / "csst1"


def make_recipe_copy(tmp_path: Path) -> Path:
    """A recipe directory of symlinks, as ESPnet recipes share TEMPLATE files."""
    d = tmp_path / "my recipe"
    d.mkdir()
    for name in ("run.sh", "db.sh", "path.sh", "scripts", "local"):
        os.symlink(RECIPE / name, d / name)
    return d


@pytest.mark.slow
def test_data_stages_generate_and_import_validated_dirs(tmp_path):
    d = make_recipe_copy(tmp_path)
    opts = " ".join(f"--{k} {v}" for k, v in TINY_SIZES.items())
    r = subprocess.run(["./local/data.sh", "--nj", "2", "--pretrained", "none", "--corpus_opts", opts], cwd=d,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Stage 1: generating the mini es-en corpus" in r.stdout
    assert "Stage 2: importing the splits" in r.stdout
    wav = read_map(d / "data" / "train_cs" / "wav.scp")
    assert len(wav) == TINY_SIZES["n_train_cs"]
    first = next(iter(wav.values()))
    assert Path(first).is_absolute() and Path(first).is_file() and "my recipe" in first
    assert "data/test_cs: OK" in r.stdout

    # rerunning skips generation and keeps the corpus
    r2 = subprocess.run(["./local/data.sh", "--stage", "1", "--stop_stage", "1"], cwd=d,
                        capture_output=True, text=True)
    assert r2.returncode == 0 and "already generated" in r2.stdout


def test_unknown_option_lists_the_options(tmp_path):
    d = make_recipe_copy(tmp_path)
    r = subprocess.run(["./local/data.sh", "--bogus", "1"], cwd=d, capture_output=True, text=True)
    assert r.returncode == 1
    assert "unknown option '--bogus'" in r.stderr and "--stage" in r.stderr
    assert not (d / "data").exists()


def test_a_corpus_made_with_other_options_is_named_not_reused(tmp_path):
    d = make_recipe_copy(tmp_path)
    corpus = d / "downloads" / "mini_cs"
    corpus.mkdir(parents=True)
    made = {"pair": "es-en", "seed": 0, "n_train_mono": 1500, "n_train_asr_en": 1000, "n_train_cs": 300}
    (corpus / "corpus.json").write_text(json.dumps({"options": made}))
    before = (corpus / "corpus.json").read_text()

    def stage1(*opts):
        return subprocess.run(["./local/data.sh", "--stage", "1", "--stop_stage", "1", *opts], cwd=d,
                              capture_output=True, text=True)

    same = stage1("--corpus_opts", "--n_train_mono 1500")
    assert same.returncode == 0 and "already generated" in same.stdout, same.stderr
    other = stage1("--seed", "3", "--corpus_opts", "--n_train_mono 3000 --n_train_asr_en 1000")
    assert other.returncode != 0
    assert "seed 0, asked 3; n_train_mono 1500, asked 3000" in other.stderr and "delete it" in other.stderr
    assert (corpus / "corpus.json").read_text() == before and not (d / "data").exists()
