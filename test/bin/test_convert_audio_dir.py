"""convert_audio_dir: audio that is not mono 16 kHz becomes 16 kHz mono FLAC; the rest is left alone."""

import numpy as np
import soundfile

from espnet_csst.bin import convert_audio_dir
from espnet_csst.data.datadir import read_map
from espnet_csst.data.validate import validate


def tone(fs: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(fs * seconds)) / fs
    x = 0.3 * np.sin(2 * np.pi * 440 * t)
    return np.stack([x] * channels, 1) if channels > 1 else x


def test_converts_what_the_models_cannot_read_and_keeps_the_rest(tmp_path, caplog):
    audio, d = tmp_path / "audio", tmp_path / "data"
    audio.mkdir()
    d.mkdir()
    specs = {"a16": (16000, 1), "b44": (44100, 2), "c08": (8000, 1)}
    for utt, (fs, ch) in specs.items():
        soundfile.write(audio / f"{utt}.wav", tone(fs, 0.5, ch), fs)
    (audio / "d_bad.wav").write_bytes(b"not audio" * 20)
    utts = [*specs, "d_bad"]
    (d / "wav.scp").write_text("".join(f"{u} {audio / u}.wav\n" for u in utts))
    (d / "wav.scp.en").write_text(f"a16 {audio / 'b44'}.wav\n")  # a second stream, also converted
    (d / "utt2dur").write_text("".join(f"{u} 0.500\n" for u in utts))
    for name in ("utt2spk", "spk2utt"):  # each utterance its own speaker: a complete data dir
        (d / name).write_text("".join(f"{u} {u}\n" for u in utts))
    (d / "text.en").write_text("".join(f"{u} a tone\n" for u in utts))
    before = (d / "wav.scp").read_text()

    assert convert_audio_dir.main(["--fs", "16000", str(d)]) == 0
    scp = read_map(d / "wav.scp")
    assert scp["a16"] == f"{audio / 'a16'}.wav" and scp["d_bad"] == f"{audio / 'd_bad'}.wav"  # left alone
    for utt in ("b44", "c08"):
        info = soundfile.info(scp[utt])
        assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC")
        assert abs(info.frames / 16000 - 0.5) < 1e-3
        assert scp[utt].startswith(str(d / "audio_16000"))
    assert soundfile.info(read_map(d / "wav.scp.en")["a16"]).samplerate == 16000
    assert (d / ".backup" / "wav.scp").read_text() == before
    assert "cannot read" in caplog.text and "d_bad" in caplog.text
    problems, _ = validate(d, fs=16000)
    audio_problems = {p.utt for p in problems if "audio" in p.message}
    assert audio_problems == {"d_bad"}  # only the unreadable one is left for the validator

    converted = sorted((d / "audio_16000").iterdir())
    assert convert_audio_dir.main(["--fs", "16000", str(d)]) == 0  # a second run converts nothing
    assert sorted((d / "audio_16000").iterdir()) == converted
