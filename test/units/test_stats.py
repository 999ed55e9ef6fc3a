"""Unit-inventory statistics: run lengths and the word consistency of units (espnet_csst/units/stats.py)."""

import math

import pytest

from espnet_csst.units.stats import mean_run_length, word_consistency, word_occurrences


def test_run_length():
    # 6 + 2 frames in 3 + 1 runs
    assert mean_run_length({"a": [3, 3, 1, 1, 1, 3], "b": [5, 5]}) == 2.0
    assert math.isnan(mean_run_length({"a": []}))


def test_word_consistency_is_zero_for_identical_units_and_grows_with_differences():
    units = {"u1": [1, 1, 2, 3, 7, 7, 8], "u2": [9, 1, 2, 2, 3, 4, 8, 8]}
    spans = {"u1": "0 4 Hello 4 7 world", "u2": "0 1 the 1 5 hello 5 8 world"}
    occ = word_occurrences(units, spans)
    # cased words fold together; runs collapse before comparing
    assert occ["hello"] == [(1, 2, 3), (1, 2, 3)]
    assert occ["world"] == [(7, 8), (4, 8)]
    value, pairs = word_consistency(occ)
    assert pairs == 2  # "the" occurs once: no pair
    assert value == pytest.approx((0.0 + 1 / 2) / 2)


def test_word_consistency_samples_pairs_reproducibly():
    occ = {"w": [(i,) for i in range(10)]}  # 45 pairs, every one at distance 1
    assert word_consistency(occ, max_pairs=5) == (1.0, 5)
    assert word_consistency(occ, max_pairs=5, seed=1) == word_consistency(occ, max_pairs=5, seed=1)
    assert math.isnan(word_consistency({"w": [(1,)]})[0])


def test_word_occurrences_skip_empty_spans_and_missing_utterances():
    occ = word_occurrences({"u1": [1, 2], "u2": []}, {"u1": "0 0 a 0 2 b", "u2": "0 1 c", "u9": "0 1 d"})
    assert occ == {"b": [(1, 2)]}


def test_word_occurrences_refuse_spans_that_do_not_fit_the_units():
    with pytest.raises(ValueError, match="u1.*outside the 2 units"):
        word_occurrences({"u1": [1, 2]}, {"u1": "0 3 hello"})
