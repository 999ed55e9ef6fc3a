"""WhisperASR, the pretrained judge of ASR-BLEU, on a tiny random Whisper (no download): it transcribes as
transformers' own pipeline of feature extractor + generate does, batches without changing a transcript,
reports audio it cannot take, refuses a language the model lacks; the command line writes Kaldi text."""

import numpy as np
import pytest
import soundfile as sf
import torch

from espnet_csst.bin import asr_whisper_decode
from espnet_csst.scoring.asr import normalize_for_asr
from espnet_csst.scoring.whisper_asr import WhisperASR
from test.encoders.test_ct2_whisper import MULTILINGUAL, save_tiny_whisper


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    out = tmp_path_factory.mktemp("whisper") / "hf"
    save_tiny_whisper(out, **MULTILINGUAL)
    return out


def waves(n=3, seed=0):
    """Chirps of different lengths and pitches: the tiny model's greedy tokens differ between them."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = np.arange(int((0.6 + 0.4 * i) * 16000)) / 16000
        out.append((0.3 * np.sin(2 * np.pi * (200 + 150 * i) * t * (1 + t)) + 0.01 * rng.standard_normal(len(t)))
                   .astype(np.float32))
    return out


def reference_transcripts(model_dir, audio, language="en", max_new_tokens=20):
    """What transformers' feature extractor + generate give, without the judge."""
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    proc = WhisperProcessor.from_pretrained(model_dir)
    model = WhisperForConditionalGeneration.from_pretrained(model_dir).eval()
    feats = proc.feature_extractor(audio, sampling_rate=16000, return_tensors="pt").input_features
    with torch.inference_mode():
        ids = model.generate(feats, language=language, task="transcribe", max_new_tokens=max_new_tokens)
    return [normalize_for_asr(t) for t in proc.tokenizer.batch_decode(ids, skip_special_tokens=True)]


def test_transcribes_as_transformers_does_and_batches_change_nothing(tiny_whisper):
    judge = WhisperASR(str(tiny_whisper), language="en", max_new_tokens=20)
    audio = waves()
    batched = judge.transcribe(audio, 16000)
    assert batched == reference_transcripts(tiny_whisper, audio)
    assert [judge.transcribe([a], 16000)[0] for a in audio] == batched
    assert len(set(batched)) > 1  # the transcripts depend on the audio


def test_answers_are_capped_by_the_longest_audio_of_the_batch(tiny_whisper):
    judge = WhisperASR(str(tiny_whisper), language="en", max_new_tokens=40, max_tokens_per_second=2)
    assert (judge.answer_limit(0.6), judge.answer_limit(1.4), judge.answer_limit(100.0)) == (12, 13, 40)
    assert "at most 2 tokens/s" in judge.describe()
    audio = waves()  # 0.6, 1.0 and 1.4 s: one batch, 13 tokens at most
    capped = judge.transcribe(audio, 16000)
    assert capped == reference_transcripts(tiny_whisper, audio, max_new_tokens=13)
    # the random model does not stop by itself: without the cap its answers run longer
    uncapped = WhisperASR(str(tiny_whisper), language="en", max_new_tokens=40).transcribe(audio, 16000)
    assert sum(map(len, uncapped)) > sum(map(len, capped))
    with pytest.raises(ValueError, match="max_tokens_per_second must be positive"):
        WhisperASR(str(tiny_whisper), language="en", max_tokens_per_second=0)


@pytest.mark.parametrize("beam_size", [1, 3])
def test_ctranslate2_backend_transcribes_as_transformers_does(tiny_whisper, beam_size):
    """The same weights in CTranslate2 (converted once beside the model) give transformers' transcripts,
    greedy and beam, with and without the per-second cap (CTranslate2 halves max_length: undone)."""
    audio = waves()
    for cap in ({"max_new_tokens": 20}, {"max_new_tokens": 40, "max_tokens_per_second": 2}):
        hf = WhisperASR(str(tiny_whisper), language="en", beam_size=beam_size, **cap)
        ct2 = WhisperASR(str(tiny_whisper), language="en", beam_size=beam_size, backend="ctranslate2", **cap)
        assert ct2.transcribe(audio, 16000) == hf.transcribe(audio, 16000)
    converted = tiny_whisper.parent / "hf-ctranslate2-float32"
    assert (converted / "model.bin").is_file() and "CTranslate2 float32" in ct2.describe()
    mtime = (converted / "model.bin").stat().st_mtime_ns
    WhisperASR(str(tiny_whisper), language="en", backend="ctranslate2")
    assert (converted / "model.bin").stat().st_mtime_ns == mtime  # converted once, then reused
    assert not [p for p in tiny_whisper.parent.iterdir() if p.name.startswith(".hf-")]  # no temporary left


def test_ctranslate2_conversion_is_redone_when_the_model_changes(tmp_path):
    """A conversion made from other weights than the model's (here: the model saved again with another
    seed under the same name) is not reused."""
    from espnet_csst.scoring.whisper_asr import ctranslate2_model

    model = tmp_path / "w"
    save_tiny_whisper(model, **MULTILINGUAL)
    first = ctranslate2_model(model, "float32")
    before = (first / "model.bin").read_bytes()
    assert ctranslate2_model(model, "float32") == first and (first / "model.bin").read_bytes() == before
    save_tiny_whisper(model, **{**MULTILINGUAL, "seed": 1})
    again = ctranslate2_model(model, "float32")
    assert again == first and (again / "model.bin").read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w", "w-ctranslate2-float32"]


def test_ctranslate2_backend_refuses_what_it_cannot_run(tiny_whisper, tmp_path):
    with pytest.raises(ValueError, match="ctranslate2 backend computes in float32, int8"):
        WhisperASR(str(tiny_whisper), language="en", backend="ctranslate2", dtype="bfloat16")
    with pytest.raises(ValueError, match="transformers backend computes in"):
        WhisperASR(str(tiny_whisper), language="en", dtype="int8")
    with pytest.raises(FileNotFoundError, match="converts a local transformers Whisper directory"):
        WhisperASR("openai/whisper-base", language="en", backend="ctranslate2")
    with pytest.raises(ValueError, match="backend must be one of"):
        WhisperASR(str(tiny_whisper), language="en", backend="onnx")


def test_resamples_other_rates(tiny_whisper):
    import torchaudio.functional as AF

    judge = WhisperASR(str(tiny_whisper), language="en", max_new_tokens=20)
    audio = waves(1)[0]
    at_8k = AF.resample(torch.from_numpy(audio), 16000, 8000).numpy()
    expected = judge.transcribe([AF.resample(torch.from_numpy(at_8k), 8000, 16000).numpy()], 16000)
    assert judge.transcribe([at_8k], 8000) == expected


def test_audio_longer_than_the_window_is_reported_not_cut(tiny_whisper):
    judge = WhisperASR(str(tiny_whisper), language="en", max_new_tokens=5)
    long = np.zeros(31 * 16000, dtype=np.float32)
    out = judge.transcribe_batch([long, waves(1)[0], np.zeros(0, dtype=np.float32)], [16000] * 3)
    assert out[0] is None and isinstance(out[1], str) and out[2] == ""
    assert "30 s window (31.0 s)" in judge.skip_reason(len(long), 16000)


def test_language_must_be_one_the_model_has(tiny_whisper):
    with pytest.raises(ValueError, match="no language 'fr'.*en es"):
        WhisperASR(str(tiny_whisper), language="fr")
    with pytest.raises(ValueError, match="multilingual: give the language"):
        WhisperASR(str(tiny_whisper), language=None)


def test_command_line_writes_kaldi_text_and_failures(tiny_whisper, tmp_path, capsys):
    scps = []
    for name, audio in (("one", waves(2)), ("two", [waves(1)[0], np.zeros(31 * 16000, dtype=np.float32)])):
        lines = []
        for i, a in enumerate(audio):
            path = tmp_path / f"{name}{i}.wav"
            sf.write(path, a, 16000)
            lines.append(f"{name}-{i} {path}")
        (tmp_path / f"{name}.scp").write_text("\n".join(lines) + "\n")
        scps += ["--wav_scp", str(tmp_path / f"{name}.scp"), "--out", str(tmp_path / f"{name}.txt")]
    assert asr_whisper_decode.main(["--model", str(tiny_whisper), "--max_new_tokens", "8", *scps]) == 0
    one = (tmp_path / "one.txt").read_text().splitlines()
    assert [ln.split()[0] for ln in one] == ["one-0", "one-1"]
    two = (tmp_path / "two.txt").read_text().splitlines()
    assert two[1] == "two-1"  # empty hypothesis: scored as wrong
    assert (tmp_path / "two.txt.failed").read_text().startswith("two-1 audio longer than Whisper's 30 s window")
    assert (tmp_path / "one.txt.failed").read_text() == ""
    with pytest.raises(SystemExit):
        asr_whisper_decode.main(["--model", str(tiny_whisper), "--wav_scp", str(tmp_path / "one.scp")])
    # an option the judge refuses is a usage error naming it
    with pytest.raises(SystemExit):
        asr_whisper_decode.main(["--model", str(tiny_whisper), "--max_tokens_per_second", "0", *scps])
    assert "max_tokens_per_second must be positive" in capsys.readouterr().err
