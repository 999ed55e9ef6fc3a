import random

import pytest

from espnet_csst.units.interleave import draw_replacements, interleave, parse_word_frames, word_segments

OFF = 100  # unit k is token 100 + k
UNITS = [1, 2, 3, 4, 5, 6, 7, 8, 9]
SPANS = [(2, 5), (6, 8)]
WORDS = [[11, 12], [13]]


def test_p0_keeps_pure_units():
    ids, is_unit = interleave(UNITS, SPANS, WORDS, [False, False], OFF)
    assert ids == [OFF + u for u in UNITS]
    assert all(is_unit)


def test_p1_is_pure_text_in_word_order():
    ids, is_unit = interleave(UNITS, SPANS, WORDS, [True, True], OFF)
    assert ids == [11, 12, 13]
    assert not any(is_unit)


def test_mixed_keeps_word_order_and_the_alignment_boundaries():
    # word 1's segment is [0, 6) (its leading and trailing pauses), word 2's [6, 9)
    assert word_segments(SPANS, len(UNITS)) == [(0, 6), (6, 9)]
    ids, is_unit = interleave(UNITS, SPANS, WORDS, [False, True], OFF)
    assert ids == [OFF + u for u in UNITS[:6]] + [13]
    assert is_unit == [True] * 6 + [False]
    ids, _ = interleave(UNITS, SPANS, WORDS, [True, False], OFF)
    assert ids == [11, 12] + [OFF + u for u in UNITS[6:]]


def test_every_unit_appears_once_whatever_is_replaced():
    units = list(range(20))
    spans = [(1, 4), (4, 9), (12, 15), (17, 18)]
    words = [[1000 + i] for i in range(4)]
    segments = word_segments(spans, 20)
    for mask in range(16):
        flags = [bool(mask >> i & 1) for i in range(4)]
        ids, is_unit = interleave(units, spans, words, flags, 0)
        kept = [t for t, u in zip(ids, is_unit) if u]
        assert kept == sorted(kept) and len(set(kept)) == len(kept)  # in order, none repeated
        assert [t - 1000 for t, u in zip(ids, is_unit) if not u] == [i for i in range(4) if flags[i]]
        assert set(kept) == {x for i, (a, b) in enumerate(segments) if not flags[i] for x in range(a, b)}


def test_words_without_pauses_and_an_utterance_without_words():
    assert interleave([5, 6], [(0, 1), (1, 2)], [[1], [2]], [True, False], OFF)[0] == [1, OFF + 6]
    assert interleave([5, 6], [], [], [], OFF) == ([OFF + 5, OFF + 6], [True, True])


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
