"""Property-based tests (hypothesis): data-dir parsers, interleaving, and the two schedules.

Each property holds for every input hypothesis generates; a counterexample is shrunk to the
smallest failing case and printed. Examples are derandomised so that CI runs are repeatable.
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from espnet_csst.data.datadir import (DataDirError, UTT_ID_RE, WordAli, format_word_ali, parse_word_ali,
                                      read_map)
from espnet_csst.losses.transition import TransitionSchedule
from espnet_csst.schedules.interleave import InterleaveSchedule
from espnet_csst.units.interleave import draw_replacements, interleave, parse_word_frames, word_segments

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

utt_ids = st.from_regex(UTT_ID_RE, fullmatch=True).filter(lambda s: len(s) <= 20)
values = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"),
                 max_size=30).map(lambda s: " ".join(s.split()))  # the parser normalises outer space
words = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8)


@st.composite
def utterances(draw):
    """Units, ordered non-overlapping word spans inside them, per-word tokens and flags."""
    n = draw(st.integers(0, 40))
    units = draw(st.lists(st.integers(0, 99), min_size=n, max_size=n))
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=12)))
    spans = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    tokens = [draw(st.lists(st.integers(1000, 1999), min_size=1, max_size=4)) for _ in spans]
    flags = [draw(st.booleans()) for _ in spans]
    return units, spans, tokens, flags


# ------------------------------------------------------------------ data-dir parsers
@SETTINGS
@given(st.dictionaries(utt_ids, values, max_size=15))
def test_read_map_round_trips(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("map") / "text"
    path.write_text("".join(f"{k} {v}\n" for k, v in table.items()), encoding="utf-8")
    assert read_map(path) == table


@SETTINGS
@given(st.lists(utt_ids, min_size=1, max_size=8), st.data())
def test_a_duplicate_id_is_named_with_its_line(tmp_path_factory, keys, data):
    dup = data.draw(st.sampled_from(keys))
    lines = [f"{k} x" for k in keys] + [f"{dup} again"]
    path = tmp_path_factory.mktemp("dup") / "text"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first_dup = next(i for i, k in enumerate(keys + [dup]) if (keys + [dup])[:i].count(k))
    with pytest.raises(DataDirError, match=rf"text:{first_dup + 1}: duplicate id"):
        read_map(path)


@SETTINGS
@given(st.dictionaries(utt_ids, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), words,
                                                   st.sampled_from(["es", "en", "zh"])), min_size=1, max_size=5),
                       max_size=6))
def test_word_ali_round_trips_through_its_writer(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("ali") / "word_ali"
    ali = {utt: [WordAli(a / 1000, b / 1000, w, lang) for a, b, w, lang in rows] for utt, rows in table.items()}
    path.write_text("".join(format_word_ali(u, ws) for u, ws in ali.items()), encoding="utf-8")
    parsed = parse_word_ali(path)
    assert {u: [w for w, _ in ws] for u, ws in parsed.items()} == ali


# ------------------------------------------------------------------ interleaving
@SETTINGS
@given(utterances())
def test_interleaving_keeps_order_boundaries_and_every_unit_once(utt):
    units, spans, tokens, flags = utt
    ids, is_unit = interleave(units, spans, tokens, flags, unit_offset=5000)
    assert len(ids) == len(is_unit)
    segments = word_segments(spans, len(units)) if spans else [(0, len(units))]
    # the segments tile the utterance and each holds its own word's span
    assert segments[0][0] == 0 and segments[-1][1] == len(units)
    assert all(a[1] == b[0] for a, b in zip(segments, segments[1:]))
    assert all(s <= ws and we <= e or ws == we for (s, e), (ws, we) in zip(segments, spans))
    # reading left to right: each segment as its units or its word's tokens, in word order
    expected = []
    for k, (a, b) in enumerate(segments):
        expected += tokens[k] if spans and flags[k] else [5000 + u for u in units[a:b]]
    assert ids == expected
    kept = [u for k, (a, b) in enumerate(segments) if not (spans and flags[k]) for u in units[a:b]]
    assert [i - 5000 for i, unit in zip(ids, is_unit) if unit] == kept  # units once, in order


@SETTINGS
@given(utterances())
def test_p0_is_pure_units_and_p1_pure_text(utt):
    units, spans, tokens, _ = utt
    rng = random.Random(0)
    ids, is_unit = interleave(units, spans, tokens, draw_replacements(len(spans), 0.0, rng), 5000)
    assert ids == [5000 + u for u in units] and all(is_unit)
    if spans:
        ids, is_unit = interleave(units, spans, tokens, draw_replacements(len(spans), 1.0, rng), 5000)
        assert ids == [t for tok in tokens for t in tok] and not any(is_unit)


@SETTINGS
@given(utterances())
def test_word_frames_lines_round_trip_and_overlaps_are_refused(utt):
    units, spans, _, _ = utt
    names = [f"w{k}" for k in range(len(spans))]
    line = " ".join(f"{s} {e} {w}" for (s, e), w in zip(spans, names))
    assert parse_word_frames(line, len(units)) == (spans, names)
    if len(spans) >= 2 and spans[1][0] > 0 and spans[0][1] > 0:
        (s0, e0), (s1, e1) = spans[0], spans[1]
        bad = f"{s0} {max(e0, s1 + 1) if s1 + 1 <= len(units) else e0} a {max(0, s1 - 1)} {e1} b"
        if max(0, s1 - 1) < max(e0, s1 + 1):
            with pytest.raises(ValueError, match="out of order"):
                parse_word_frames(bad, len(units))


# ------------------------------------------------------------------ schedules
@SETTINGS
@given(st.floats(0, 1), st.just(0.0) | st.floats(1e-6, 1), st.integers(1, 500), st.integers(0, 20_000),
       st.integers(0, 20_000))
def test_interleave_schedule_decays_within_bounds_and_ends_on_units(p0, delta, interval, t1, t2):
    # (deltas below 1e-6 would need over 10^6 decrements: no training runs that long)
    sched = InterleaveSchedule("step", p0, delta, interval)
    lo, hi = sorted((t1, t2))
    assert 0.0 <= sched.ratio(hi) <= sched.ratio(lo) <= p0
    end = sched.last_text_step()
    if end >= 0:
        assert sched.ratio(end) == 0.0 and sched.ratio(end + t1) == 0.0
        if end > 0:
            assert sched.ratio(end - 1) > 0.0
    assert InterleaveSchedule("constant", p0, delta, interval).ratio(t1) == p0
    assert InterleaveSchedule("none", p0, delta, interval).ratio(t1) == 0.0


@SETTINGS
@given(st.floats(0, 10), st.floats(0, 10), st.integers(0, 5000), st.sampled_from(["linear", "cosine"]),
       st.integers(0, 10_000), st.integers(0, 10_000))
def test_transition_schedule_moves_monotonically_from_lambda0_to_lambda_min(lam0, lam_min, steps, shape, t1, t2):
    sched = TransitionSchedule(lam0, lam_min, steps, shape)
    lo, hi = sorted((t1, t2))
    a, b = sched.weight(lo), sched.weight(hi)
    bounds = (min(lam0, lam_min) - 1e-9, max(lam0, lam_min) + 1e-9)
    assert bounds[0] <= a <= bounds[1] and bounds[0] <= b <= bounds[1]
    assert (a >= b - 1e-9) if lam0 >= lam_min else (a <= b + 1e-9)
    assert sched.weight(steps + t1) == lam_min
    if steps > 0:
        assert abs(sched.weight(0) - lam0) < 1e-9
