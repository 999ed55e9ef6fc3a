import random

import pytest

from espnet_csst.units.interleave import draw_replacements, interleave, parse_word_frames

OFF = 100  # unit k is token 100 + k
UNITS = [1, 2, 3, 4, 5, 6, 7, 8, 9]
SPANS = [(2, 5), (6, 8)]
WORDS = [[11, 12], [13]]


def test_p0_keeps_pure_units():
    ids, is_unit = interleave(UNITS, SPANS, WORDS, [False, False], OFF)
    assert ids == [OFF + u for u in UNITS]
    assert all(is_unit)


def test_p1_replaces_every_word_and_keeps_the_pauses_in_order():
    ids, is_unit = interleave(UNITS, SPANS, WORDS, [True, True], OFF)
    # pause [0,2) | w1 text | pause [5,6) | w2 text | tail [8,9)
    assert ids == [OFF + 1, OFF + 2, 11, 12, OFF + 6, 13, OFF + 9]
    assert is_unit == [True, True, False, False, True, False, True]


def test_mixed_keeps_word_order_and_boundaries():
    ids, _ = interleave(UNITS, SPANS, WORDS, [False, True], OFF)
    assert ids == [OFF + u for u in UNITS[:6]] + [13, OFF + 9]
    ids, _ = interleave(UNITS, SPANS, WORDS, [True, False], OFF)
    assert ids == [OFF + 1, OFF + 2, 11, 12] + [OFF + u for u in UNITS[5:]]


def test_words_without_pauses_and_a_single_word_covering_everything():
    assert interleave([5, 6], [(0, 1), (1, 2)], [[1], [2]], [True, True], OFF)[0] == [1, 2]
    assert interleave([5, 6], [(0, 2)], [[7, 8, 9]], [True], OFF)[0] == [7, 8, 9]


def test_draw_replacements_extremes_and_rate():
    rng = random.Random(0)
    assert draw_replacements(5, 0.0, rng) == [False] * 5
    assert draw_replacements(5, 1.0, rng) == [True] * 5
    flags = draw_replacements(4000, 0.3, random.Random(1))
    assert 0.27 < sum(flags) / len(flags) < 0.33
    assert draw_replacements(50, 0.5, random.Random(7)) == draw_replacements(50, 0.5, random.Random(7))


def test_parse_word_frames():
    spans, words = parse_word_frames("0 3 hola 3 3 x 4 9 mundo", 9)
    assert spans == [(0, 3), (3, 3), (4, 9)]
    assert words == ["hola", "x", "mundo"]
    assert parse_word_frames("", 0) == ([], [])


@pytest.mark.parametrize("line,match", [("0 3", "triples"), ("0 12 a", "outside"), ("4 6 a 2 3 b", "out of order"),
                                        ("a b c", "integers")])
def test_parse_word_frames_rejects_bad_lines_naming_the_utterance(line, match):
    with pytest.raises(ValueError, match=match) as e:
        parse_word_frames(line, 10, uid="utt7")
    assert "utt7" in str(e.value)
