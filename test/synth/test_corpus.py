"""The generated mini corpus: layout, validity, statistics, determinism, bad options."""

import hashlib
import json
from pathlib import Path

import pytest
import soundfile

from espnet_csst.data.datadir import parse_word_ali, read_map
from espnet_csst.data.validate import validate
from espnet_csst.synth import corpus as corpus_mod
from espnet_csst.synth.corpus import CorpusError, CorpusOptions, build_corpus, make_speakers
from test.conftest import TINY_SIZES, tiny_corpus

SPLITS = ["train_asr_en", "train_mono_es", "train_cs", "dev_mono", "dev_cs", "test_mono_es",
          "test_cs", "s2st_train", "s2st_dev", "s2st_test"]


def digest_tree(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_split_is_valid_kaldi_data(mini_corpus):
    assert sorted(p.name for p in (mini_corpus / "data").iterdir()) == sorted(SPLITS)
    for split in SPLITS:
        problems, stats = validate(mini_corpus / "data" / split)
        assert problems == [], problems[:3]
        assert stats["utterances"] > 0


def test_file_sets_per_split(mini_corpus):
    d = mini_corpus / "data"
    assert {p.name for p in (d / "train_cs").iterdir()} == {
        "wav.scp", "utt2spk", "spk2utt", "text.cs", "text.en", "utt2lang", "utt2dur", "word_ali"}
    assert {"text.es", "text.en"} <= {p.name for p in (d / "train_mono_es").iterdir()}
    assert {p.name for p in (d / "s2st_train").iterdir()} >= {
        "wav.scp.es", "wav.scp.en", "text.es", "text.en", "word_ali.es", "word_ali.en",
        "utt2dur.es", "utt2dur.en"}
    assert set(read_map(d / "train_cs" / "utt2lang").values()) == {"cs"}
    assert set(read_map(d / "train_asr_en" / "utt2lang").values()) == {"en"}


def test_audio_is_16k_mono_and_matches_utt2dur(mini_corpus):
    d = mini_corpus / "data" / "test_cs"
    durs = read_map(d / "utt2dur")
    for utt, rel in list(read_map(d / "wav.scp").items())[:5]:
        info = soundfile.info(mini_corpus / rel)
        assert (info.samplerate, info.channels) == (16000, 1)
        assert abs(info.frames / 16000 - float(durs[utt])) < 0.002


def test_code_switched_utterances_switch_and_cmi_in_range(mini_corpus):
    for split in ("train_cs", "dev_cs", "test_cs"):
        alis = parse_word_ali(mini_corpus / "data" / split / "word_ali")
        for utt, words in alis.items():
            langs = [w.lang for w, _ in words]
            assert sum(a != b for a, b in zip(langs, langs[1:])) >= 1, utt
    stats = json.loads((mini_corpus / "corpus.json").read_text())["splits"]
    assert 15 <= stats["train_cs"]["cmi"] <= 50
    assert stats["train_mono_es"]["cmi"] == 0
    assert stats["train_cs"]["switch_points_per_utt"] >= 1


def test_dev_and_test_speakers_disjoint_from_train(mini_corpus):
    by_pool = {}
    for split in SPLITS:
        pool = split.split("_")[0] if not split.startswith("s2st") else split.split("_")[1]
        spks = set(read_map(mini_corpus / "data" / split / "utt2spk").values())
        by_pool.setdefault(pool, set()).update(spks)
    assert by_pool["train"] and by_pool["dev"] and by_pool["test"]
    assert not by_pool["train"] & (by_pool["dev"] | by_pool["test"])
    assert not by_pool["dev"] & by_pool["test"]
    # and not only the ids: the espeak voices differ too
    variants = {s.spk_id: s.variant for s in make_speakers()}
    train_voices = {variants[s] for s in by_pool["train"]}
    assert not train_voices & {variants[s] for s in by_pool["dev"] | by_pool["test"]}
    assert len([s for s in make_speakers() if s.pool != "target"]) >= 12


def test_text_corpus_excludes_dev_and_test_sentences(mini_corpus):
    text = (mini_corpus / "text")
    assert len((text / "mono.es").read_text().splitlines()) == TINY_SIZES["n_text"]
    assert len((text / "parallel.es").read_text().splitlines()) == len(
        (text / "parallel.en").read_text().splitlines())
    held_out = set()
    for split in ("dev_mono", "test_mono_es"):
        held_out |= set(read_map(mini_corpus / "data" / split / "text.es").values())
    lm_text = set((text / "mono.es").read_text().splitlines()) | set(
        (text / "parallel.es").read_text().splitlines())
    assert not held_out & lm_text


@pytest.mark.slow
def test_byte_identical_across_runs_and_nj(tmp_path, mini_corpus):
    tiny_corpus(tmp_path / "a", nj=1)
    tiny_corpus(tmp_path / "b", nj=3)
    ref = digest_tree(mini_corpus)  # built with nj=2
    assert digest_tree(tmp_path / "a") == ref
    assert digest_tree(tmp_path / "b") == ref


@pytest.mark.slow
def test_different_seed_gives_different_corpus(tmp_path, mini_corpus):
    tiny_corpus(tmp_path / "s4", seed=4)
    assert (tmp_path / "s4" / "text" / "mono.es").read_text() != (
        mini_corpus / "text" / "mono.es").read_text()


def test_size_zero_is_rejected():
    with pytest.raises(CorpusError, match="--n_train_cs must be a positive integer"):
        CorpusOptions(n_train_cs=0)


def test_unwritable_output_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CorpusError, match="cannot write there"):
        build_corpus(blocker / "out", CorpusOptions(**TINY_SIZES))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_refuses_foreign_non_empty_dir(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(CorpusError, match="not a mini corpus"):
        build_corpus(tmp_path / "mine", CorpusOptions(**TINY_SIZES))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_failure_midway_leaves_no_partial_corpus(tmp_path, monkeypatch):
    def boom(job, root):
        raise RuntimeError("synthesis exploded")

    monkeypatch.setattr(corpus_mod, "run_job", boom)
    with pytest.raises(RuntimeError, match="exploded"):
        build_corpus(tmp_path / "out", CorpusOptions(**TINY_SIZES), nj=1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_mandarin_english_pair_builds_a_valid_corpus(tmp_path):
    stats = tiny_corpus(tmp_path / "zh", pair="zh-en")
    d = tmp_path / "zh" / "data"
    assert {"train_mono_zh", "test_mono_zh", "train_cs"} <= {p.name for p in d.iterdir()}
    for split in stats:
        assert validate(d / split)[0] == []
    assert 15 <= stats["train_cs"]["cmi"] <= 50
    text = read_map(d / "train_mono_zh" / "text.zh")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in t.replace(" ", "")) for t in text.values())
    # Mandarin words of code-switched utterances are tagged zh and have real durations
    words = [w for ws in parse_word_ali(d / "train_cs" / "word_ali").values() for w, _ in ws]
    zh = [w for w in words if w.lang == "zh"]
    assert zh and all(w.end - w.start > 0.05 for w in zh)
