import pytest

from espnet_csst.schedules.interleave import InterleaveSchedule


def test_step_schedule_follows_the_formula_and_ends_on_pure_units():
    s = InterleaveSchedule("step", p0=0.9, delta=0.1, interval=300)
    assert s.ratio(0) == pytest.approx(0.9)
    assert s.ratio(299) == pytest.approx(0.9)
    assert s.ratio(300) == pytest.approx(0.8)
    assert s.ratio(2699) == pytest.approx(0.1)
    assert s.ratio(2700) == pytest.approx(0.0, abs=1e-9)
    assert s.ratio(10_000) == 0.0  # never negative
    assert s.last_text_step() == 2700


def test_constant_and_none_modes():
    assert InterleaveSchedule("constant", p0=0.5).ratio(5000) == 0.5
    assert InterleaveSchedule("constant", p0=0.5).last_text_step() == -1
    assert InterleaveSchedule("none").ratio(0) == 0.0


@pytest.mark.parametrize("kw", [dict(mode="cosine"), dict(p0=1.5), dict(delta=-0.1), dict(interval=0)])
def test_bad_settings_name_the_config_key(kw):
    with pytest.raises(ValueError, match="model_conf.interleave_"):
        InterleaveSchedule(**kw)
