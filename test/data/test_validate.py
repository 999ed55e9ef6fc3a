"""validate_data_dir / fix_data_dir on hand-made data directories."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet_csst.bin import fix_data_dir as fix_cli
from espnet_csst.bin import validate_data_dir as validate_cli
from espnet_csst.data.datadir import UttRecord, WordAli, read_map, write_data_dir
from espnet_csst.data.validate import fix, validate


def make_dir(tmp_path: Path, n: int = 4) -> Path:
    """A valid data dir of n one-second utterances by two speakers."""
    audio = tmp_path / "audio"
    audio.mkdir()
    records = []
    for i in range(n):
        spk = f"spk{i % 2}"
        utt = f"{spk}-utt{i:03d}"
        wav = audio / f"{utt}.wav"
        soundfile.write(wav, np.zeros(16000, dtype=np.int16) + 100, 16000)
        words = [WordAli(0.1, 0.4, "hola", "es"), WordAli(0.45, 0.9, "world", "en")]
        records.append(UttRecord(utt, spk, texts={"cs": "hola world", "en": "Hello world."},
                                 wav={"": str(wav)}, lang="cs", durations={"": 1.0},
                                 word_ali={"": words}))
    d = tmp_path / "data"
    write_data_dir(d, records)
    return d


def messages(d: Path, **kw):
    problems, _ = validate(d, **kw)
    return [str(p) for p in problems]


def test_valid_dir_passes(tmp_path, capsys):
    d = make_dir(tmp_path)
    assert messages(d) == []
    assert validate_cli.main([str(d)]) == 0
    assert "OK (4 utterances, 2 speakers" in capsys.readouterr().out


def test_written_files_are_sorted_and_spk2utt_is_inverse(tmp_path):
    d = make_dir(tmp_path)
    keys = list(read_map(d / "utt2spk"))
    assert keys == sorted(keys, key=str.encode)
    assert read_map(d / "spk2utt") == {"spk0": "spk0-utt000 spk0-utt002", "spk1": "spk1-utt001 spk1-utt003"}


def test_duplicate_id(tmp_path):
    d = make_dir(tmp_path)
    lines = (d / "text.en").read_text().splitlines()
    (d / "text.en").write_text("\n".join(lines[:2] + [lines[1]] + lines[2:]) + "\n")
    msgs = messages(d)
    assert any("text.en:3" in m and "spk0-utt002" in m and "duplicate id" in m for m in msgs), msgs


def test_unsorted_file(tmp_path):
    d = make_dir(tmp_path)
    lines = (d / "utt2spk").read_text().splitlines()
    (d / "utt2spk").write_text("\n".join([lines[1], lines[0]] + lines[2:]) + "\n")
    msgs = messages(d)
    assert any("utt2spk:2" in m and "spk0-utt000" in m and "not sorted" in m for m in msgs), msgs


def test_utterance_missing_from_text(tmp_path):
    d = make_dir(tmp_path)
    lines = (d / "text.cs").read_text().splitlines()
    (d / "text.cs").write_text("\n".join(lines[1:]) + "\n")
    msgs = messages(d)
    assert any("text.cs" in m and "spk0-utt000" in m and "missing from this file" in m for m in msgs), msgs


def test_word_ali_past_end_of_audio(tmp_path):
    d = make_dir(tmp_path)
    text = (d / "word_ali").read_text().replace("spk1-utt001 0.450 0.900", "spk1-utt001 0.450 1.400")
    (d / "word_ali").write_text(text)
    msgs = messages(d)
    assert any("word_ali:6" in m and "spk1-utt001" in m and "past the end of the audio" in m
               for m in msgs), msgs


def test_word_ali_overlap(tmp_path):
    d = make_dir(tmp_path)
    text = (d / "word_ali").read_text().replace("spk1-utt001 0.450 0.900", "spk1-utt001 0.200 0.900")
    (d / "word_ali").write_text(text)
    assert any("spk1-utt001" in m and "not overlap" in m for m in messages(d))


def test_empty_transcript(tmp_path, capsys):
    d = make_dir(tmp_path)
    text = (d / "text.cs").read_text().replace("spk1-utt003 hola world", "spk1-utt003   ")
    (d / "text.cs").write_text(text)
    msgs = messages(d)
    assert any("text.cs:4" in m and "spk1-utt003" in m and "empty transcript" in m for m in msgs), msgs
    assert validate_cli.main([str(d)]) == 1
    assert "spk1-utt003" in capsys.readouterr().err


def test_non_utf8_names_file_and_line(tmp_path):
    d = make_dir(tmp_path)
    (d / "text.en").write_bytes((d / "text.en").read_bytes() + b"spk1-utt009 caf\xe9\n")
    assert any("text.en:5" in m and "UTF-8" in m for m in messages(d))


def test_missing_audio_and_shell_metacharacters(tmp_path):
    d = make_dir(tmp_path)
    (tmp_path / "audio" / "spk0-utt002.wav").unlink()
    assert any("spk0-utt002" in m and "not found" in m for m in messages(d))
    with pytest.raises(ValueError, match="characters other than"):
        write_data_dir(tmp_path / "x", [UttRecord("a;rm -rf", "s", texts={"en": "x"})])


def test_fix_drops_and_reports_each_bad_utterance(tmp_path, capsys):
    d = make_dir(tmp_path, n=6)
    (d / "text.cs").write_text((d / "text.cs").read_text().replace("spk1-utt003 hola world", "spk1-utt003 "))
    lines = (d / "text.en").read_text().splitlines()
    (d / "text.en").write_text("\n".join(lines[1:] + [lines[1]]) + "\n")  # drop one, duplicate one, unsort
    original = (d / "utt2spk").read_text()
    assert fix_cli.main([str(d)]) == 0
    out = capsys.readouterr().out
    assert "dropped spk0-utt000: missing from text.en" in out
    assert "dropped spk1-utt003: text.cs: empty transcript" in out
    assert messages(d) == []
    assert len(read_map(d / "utt2spk")) == 4
    assert (d / ".backup" / "utt2spk").read_text() == original  # nothing lost
    assert "spk1-utt003" not in read_map(d / "spk2utt")["spk1"]


def test_fix_keeps_valid_dir_unchanged(tmp_path):
    d = make_dir(tmp_path)
    before = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}
    assert fix(d) == {}
    assert {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()} == before


def test_segments_and_suffixed_streams(tmp_path):
    d = make_dir(tmp_path)
    shutil.move(d / "wav.scp", d / "wav.scp.es")
    shutil.move(d / "utt2dur", d / "utt2dur.es")
    shutil.move(d / "word_ali", d / "word_ali.es")
    assert messages(d) == []
    text = (d / "word_ali.es").read_text().replace("spk1-utt001 0.450 0.900", "spk1-utt001 0.450 3.900")
    (d / "word_ali.es").write_text(text)
    assert any("word_ali.es" in m and "past the end" in m for m in messages(d))


@pytest.mark.parametrize("fs, channels, ok", [(16000, 1, True), (8000, 1, False), (44100, 1, False),
                                              (16000, 2, False)])
def test_sample_rate_and_channels_are_checked(tmp_path, fs, channels, ok):
    """With fs=16000 (validate_data_dir --fs 16000, for the dumps the models read)."""
    d = make_dir(tmp_path)
    wav = tmp_path / "audio" / "spk0-utt002.wav"
    soundfile.write(wav, np.zeros((fs, channels), dtype=np.int16) + 100, fs)
    msgs = [m for m in messages(d, fs=16000) if "spk0-utt002" in m]
    if ok:
        assert not msgs
    else:
        assert any(f"{fs} Hz with {channels} channel(s)" in m and "convert_audio_dir --fs 16000" in m
                   for m in msgs), msgs
    assert not [m for m in messages(d) if "channel" in m]  # the default (data/): any rate


@pytest.mark.parametrize("subtype", ["PCM_24", "FLOAT"])
def test_24_bit_and_float_audio_are_accepted(tmp_path, subtype):
    d = make_dir(tmp_path)
    soundfile.write(tmp_path / "audio" / "spk0-utt002.wav", np.full(16000, 0.01, dtype=np.float32), 16000,
                    subtype=subtype)
    assert messages(d, fs=16000) == []


def test_truncated_or_corrupt_audio_is_named(tmp_path):
    d = make_dir(tmp_path)
    wav = tmp_path / "audio" / "spk1-utt001.wav"
    wav.write_bytes(wav.read_bytes()[:30])  # a header cut short
    (tmp_path / "audio" / "spk0-utt002.wav").write_bytes(b"this is not audio at all" * 10)
    msgs = messages(d)
    assert any("spk1-utt001" in m and "cannot read audio" in m for m in msgs), msgs
    assert any("spk0-utt002" in m and "cannot read audio" in m for m in msgs), msgs


def test_unknown_language_in_utt2lang(tmp_path):
    d = make_dir(tmp_path)
    (d / "utt2lang").write_text((d / "utt2lang").read_text().replace("spk0-utt002 cs", "spk0-utt002 Spanish"))
    assert any("utt2lang:2" in m and "spk0-utt002" in m and "not an ISO 639 code" in m for m in messages(d))


def test_fix_does_not_drop_audio_that_only_needs_converting(tmp_path):
    d = make_dir(tmp_path)
    soundfile.write(tmp_path / "audio" / "spk0-utt002.wav", np.zeros(8000, dtype=np.int16) + 100, 8000)
    assert any("convert_audio_dir" in m for m in messages(d, fs=16000))
    dropped = fix(d)
    assert "spk0-utt002" not in dropped


def test_zero_length_audio_is_named_and_dropped_by_fix(tmp_path):
    d = make_dir(tmp_path)
    soundfile.write(tmp_path / "audio" / "spk1-utt003.wav", np.zeros(0, dtype=np.int16), 16000)
    assert any("spk1-utt003" in m and "is empty" in m for m in messages(d)), messages(d)
    assert "spk1-utt003" in fix(d)
