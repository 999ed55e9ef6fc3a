"""CTC forced word alignment: frame spans on hand-made log-probabilities, and the ctc_word_align CLI."""

import pytest
import soundfile as sf
import torch

from espnet_csst.bin import ctc_word_align
from espnet_csst.data.datadir import parse_word_ali
from espnet_csst.units.align import (FrameSpan, TranscriptTooLongError, ctc_min_frames, forced_align_tokens,
                                     join_words, spans_to_seconds, word_frame_spans)
from test.bin.test_asr_ctc_decode import TOKENS, build_tiny_asr, tone

BLANK, A, B, SPACE = 0, 1, 2, 3


def peaked(path, vocab=4, high=0.0, low=-8.0):
    """Log-probabilities (frames, vocab) that put nearly all mass on ``path``'s label per frame."""
    lp = torch.full((len(path), vocab), low)
    for t, label in enumerate(path):
        lp[t, label] = high
    return lp.log_softmax(-1)


def test_min_frames_count_blanks_between_repeats():
    assert ctc_min_frames([A, B, SPACE]) == 3
    assert ctc_min_frames([A, A, B, B, B]) == 8
    assert ctc_min_frames([]) == 0


def test_join_words_marks_the_spaces():
    assert join_words([[A], [B, B]], SPACE) == ([A, SPACE, B, B], [0, -1, 1, 1])
    with pytest.raises(ValueError, match="no tokens"):
        join_words([[A], []], SPACE)


def test_forced_alignment_follows_a_peaked_path():
    #        0      1  2  3      4      5      6  7      8  9
    path = [BLANK, A, A, BLANK, SPACE, BLANK, B, BLANK, B, BLANK]
    spans = forced_align_tokens(peaked(path), [A, SPACE, B, B], blank=BLANK)
    assert spans == [FrameSpan(1, 3), FrameSpan(4, 5), FrameSpan(6, 7), FrameSpan(8, 9)]
    words = word_frame_spans(peaked(path), [[A], [B, B]], SPACE, BLANK)
    assert words == [FrameSpan(1, 3), FrameSpan(6, 9)]
    # 10 frames over 0.5 s: 50 ms each
    assert spans_to_seconds(words, 10, 0.5) == [(0.05, 0.15), (0.3, 0.45)]


def test_forced_alignment_follows_the_transcript_not_the_argmax():
    """Frames that prefer B still go to A when the transcript says A: alignment, not recognition."""
    lp = peaked([BLANK, B, B, BLANK])
    lp[1:3, A] = -3.0  # A possible but unlikely
    assert word_frame_spans(lp.log_softmax(-1), [[A]], SPACE, BLANK) == [FrameSpan(1, 3)]


def test_transcript_longer_than_the_frames_is_refused():
    with pytest.raises(TranscriptTooLongError, match="needs at least 3 CTC frames"):
        forced_align_tokens(peaked([A, A]), [A, A], blank=BLANK)


def test_seconds_stay_inside_the_audio():
    # 3 frames of 1/3 s each over a 0.9999 s file: the last end is rounded down to the audio
    times = spans_to_seconds([FrameSpan(0, 1), FrameSpan(1, 3)], 3, 0.9999)
    assert times == [(0.0, 0.333), (0.333, 0.999)]


# --------------------------------------------------------------------- CLI on a tiny random model


def test_cli_writes_ordered_in_bounds_words(tmp_path, caplog):
    asr = build_tiny_asr(tmp_path / "exp")
    audio = tmp_path / "audio"
    audio.mkdir()
    durations = {"u1": 1.5, "u2": 2.0, "u3": 0.3, "u4": 1.0, "u5": 1.0}
    for i, (utt, sec) in enumerate(durations.items()):
        sf.write(audio / f"{utt}.flac", tone(sec, 16000, i), 16000)
    (tmp_path / "wav.scp").write_text("".join(f"{u} {audio / u}.flac\n" for u in durations), encoding="utf-8")
    (tmp_path / "text").write_text(
        "u1 The coin, cost ten!\n"
        "u2 Café très - sixty-four\n"         # é is no token (-> <unk>); a bare '-' is no word
        "u3 this sentence is far too long for three tenths of a second\n"
        "u5 ...\n", encoding="utf-8")          # u4 has no transcript, u5 no words
    out = tmp_path / "word_ali.en"
    assert ctc_word_align.main(["--asr_config", str(asr["config"]), "--asr_model", str(asr["model"]),
                                "--wav_scp", str(tmp_path / "wav.scp"), "--text", str(tmp_path / "text"),
                                "--out", str(out), "--lang", "en", "--batch_size", "2"]) == 0
    ali = parse_word_ali(out)
    assert list(ali) == ["u1", "u2"]
    assert [w.word for w, _ in ali["u1"]] == ["the", "coin", "cost", "ten"]
    assert [w.word for w, _ in ali["u2"]] == ["café", "très", "sixty-four"]
    for utt, words in ali.items():
        prev_end = 0.0
        for w, _ in words:
            assert w.lang == "en"
            assert prev_end <= w.start < w.end <= durations[utt]
            prev_end = w.end
    assert "u3: skipped: the transcript needs at least" in caplog.text
    assert "skipped 3 of 5 utterances" in caplog.text
    # one line per word, times with 3 decimals
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 7 and all(len(ln.split()[1].split(".")[1]) == 3 for ln in lines)


def test_unknown_characters_map_to_unk(tmp_path):
    asr = ctc_word_align.CTCGreedyASR.from_files(**{k: v for k, v in build_tiny_asr(tmp_path / "exp").items()
                                                    if k in ("config", "model")})
    words = ctc_word_align.WordTokenizer(asr).words("Café, ok")
    assert words == [("café", [TOKENS.index(c) for c in "caf"] + [TOKENS.index("<unk>")]),
                     ("ok", [TOKENS.index("o"), TOKENS.index("k")])]
