"""Seeds and significance: mean/std over seeds and sacrebleu's paired bootstrap over pooled seeds."""

import random

import pytest

from espnet_csst.scoring.metrics import ResultsError
from espnet_csst.scoring.significance import mean_and_std, pooled_paired_bootstrap

WORDS = "the a cat dog sat ran on under mat door house near far big small red blue we will meet".split()


def sentences(n, seed):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))) for _ in range(n)]


def corrupt(sentence, rng, p):
    """Replace each word with probability p (p=0: the reference itself)."""
    return " ".join(rng.choice(WORDS) if rng.random() < p else w for w in sentence.split())


def write_run(tmp_path, name, seed, refs, p):
    rng = random.Random(f"{name}-{seed}")
    hyp = tmp_path / f"hyp_{name}_{seed}"
    ref = tmp_path / "ref"
    hyp.write_text("".join(f"u{i:03d} {corrupt(r, rng, p)}\n" for i, r in enumerate(refs)), encoding="utf-8")
    ref.write_text("".join(f"u{i:03d} {r}\n" for i, r in enumerate(refs)), encoding="utf-8")
    return hyp, ref


def runs(tmp_path, name, p, seeds=(0, 1, 2), refs=None):
    refs = refs or sentences(40, 0)
    return {s: write_run(tmp_path, name, s, refs, p) for s in seeds}


def test_mean_and_sample_std():
    assert mean_and_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_and_std([5.0]) == (5.0, None)  # one seed: no spread is known
    with pytest.raises(ValueError):
        mean_and_std([])


def test_a_clearly_better_system_is_significant_and_the_test_is_repeatable(tmp_path):
    base, better = runs(tmp_path, "base", 0.5), runs(tmp_path, "better", 0.1)
    out = pooled_paired_bootstrap(base, better)
    assert out["seeds"] == [0, 1, 2] and out["n_pairs"] == 120
    assert out["delta_pooled"] > 20 and out["p_value"] < 0.05
    assert pooled_paired_bootstrap(base, better) == out  # fixed resampling seed
    reverse = pooled_paired_bootstrap(better, base)  # two-sided: the same p, the opposite sign
    assert reverse["delta_pooled"] == pytest.approx(-out["delta_pooled"], abs=0.011)
    assert reverse["p_value"] < 0.05


def test_two_runs_of_the_same_quality_are_not_significant(tmp_path):
    a, b = runs(tmp_path, "a", 0.3), runs(tmp_path, "b", 0.3)
    out = pooled_paired_bootstrap(a, b)
    assert abs(out["delta_pooled"]) < 5 and out["p_value"] >= 0.05


def test_only_the_seeds_both_systems_have_are_paired(tmp_path):
    base, system = runs(tmp_path, "base", 0.5, seeds=(0, 1, 2)), runs(tmp_path, "sys", 0.1, seeds=(1, 2, 3))
    assert pooled_paired_bootstrap(base, system)["seeds"] == [1, 2]
    with pytest.raises(ResultsError, match="no seed in common"):
        pooled_paired_bootstrap(runs(tmp_path, "x", 0.5, seeds=(0,)), runs(tmp_path, "y", 0.5, seeds=(1,)))


def test_different_test_sets_are_refused_naming_the_files(tmp_path):
    base = runs(tmp_path, "base", 0.5)
    other = tmp_path / "other"
    other.mkdir()
    system = runs(other, "sys", 0.1, refs=sentences(40, 7))
    with pytest.raises(ResultsError, match="different references"):
        pooled_paired_bootstrap(base, system)


def test_a_missing_hypothesis_file_says_to_rescore(tmp_path):
    base, system = runs(tmp_path, "base", 0.5), runs(tmp_path, "sys", 0.1)
    system[1][0].unlink()
    with pytest.raises(ResultsError, match=r"hyp_sys_1: not found.*rescore"):
        pooled_paired_bootstrap(base, system)


def test_identical_outputs_are_not_a_difference(tmp_path):
    # sacrebleu alone would give p = 1/1001 here: every resampled difference is 0
    base = runs(tmp_path, "base", 0.3)
    out = pooled_paired_bootstrap(base, dict(base))
    assert out["delta_pooled"] == 0 and out["p_value"] == 1.0
