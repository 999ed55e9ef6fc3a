"""The espeak-ng ctypes binding."""

import numpy as np
import pytest

from espnet_csst.synth import corpus
from espnet_csst.synth.espeak import ESPEAK_RATE, Espeak, SynthesisError, Voice


@pytest.fixture(scope="module")
def worker():
    corpus._init_worker()  # a pristine espeak-ng, as in a synthesis worker
    return corpus._synthesize_fresh


@pytest.mark.parametrize("voice,words", [
    ("es", "el perro negro come veintiún manzanas".split()),
    ("en-us", "the black dog will eat twenty-two apples".split()),
    ("cmn", "我 明天 要 去 学校".split()),
])
def test_word_spans_are_ordered_and_inside_audio(worker, voice, words):
    audio, spans = worker(words, Voice(voice, "m1", 50, 165))
    assert audio.dtype == np.int16 and len(audio) > 0.3 * ESPEAK_RATE * len(words) / 2
    assert len(spans) == len(words)
    for (s, e), (s2, _) in zip(spans, spans[1:] + [(len(audio), None)]):
        assert 0 <= s < e <= s2 <= len(audio)
    # every word span carries sound, the gaps between them are quieter
    for s, e in spans:
        assert np.abs(audio[s:e].astype(np.int32)).max() > 500


def test_same_call_gives_identical_audio(worker):
    words, voice = "tiene un perro".split(), Voice("es", "m3", 40, 150)
    a, sa = worker(words, voice)
    worker("the big house".split(), Voice("en-us", "f1", 60, 180))
    b, sb = worker(words, voice)
    assert sa == sb and np.array_equal(a, b)


def test_rate_changes_duration(worker):
    words = "el perro negro come la manzana roja".split()
    slow, _ = worker(words, Voice("es", "m1", 50, 120))
    fast, _ = worker(words, Voice("es", "m1", 50, 220))
    assert len(fast) < 0.8 * len(slow)


def test_unknown_variant_is_an_error():
    with pytest.raises(SynthesisError, match="no voice variant 'nosuchvoice'"):
        Espeak().synthesize(["hola"], Voice("es", "nosuchvoice"))


def test_words_merged_by_espeak_still_get_spans(worker):
    words = "for the grandmother".split()
    audio, spans = worker(words, Voice("en-us", "m1", 50, 165))
    assert len(spans) == 3
    assert all(s < e for s, e in spans) and spans[-1][1] <= len(audio)
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0]
