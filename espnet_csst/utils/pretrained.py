"""Packed models (ESPnet's pack format): a zip, the zip unzipped, or a Hugging Face hub repo with that layout.

Used by ``Speech2Text.from_pretrained`` (csst_inference) and ``Speech2Speech.from_pretrained``
(unit_lm_inference). A zip is unpacked with ESPnet's ``unpack`` into a cache directory
(``~/.cache/espnet_csst`` unless given). An unzipped directory is read in place, and its configs'
relative paths are rewritten to absolute ones in a cached copy, since the configs name their
files relative to the pack's top.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Dict, Sequence, Union

import yaml

from espnet_csst.utils.fileio import atomic_write_text


def _cache_root(cache_dir) -> Path:
    return Path(cache_dir) if cache_dir else Path.home() / ".cache" / "espnet_csst"


def resolve_pretrained(model: Union[str, Path], keys: Sequence[str], cache_dir=None) -> Dict[str, str]:
    """``{key: local path}`` of a packed model: its zip, the zip unzipped (``meta.yaml`` at the top), or
    a hub repo id with that layout; ``keys`` are the files the caller needs."""
    from espnet2.main_funcs.pack_funcs import unpack

    model = Path(model) if Path(model).exists() else str(model)
    if isinstance(model, Path) and model.is_file():
        digest = hashlib.sha1(str(model.resolve()).encode()).hexdigest()[:10]
        files = unpack(model, _cache_root(cache_dir) / f"{model.stem}-{digest}")
    elif isinstance(model, Path) and model.is_dir():
        files = _resolve_model_dir(model, cache_dir)
    elif isinstance(model, str) and model.count("/") == 1 and not model.startswith((".", "/")):
        from huggingface_hub import snapshot_download

        files = _resolve_model_dir(Path(snapshot_download(model, cache_dir=cache_dir)), cache_dir)
    else:
        raise FileNotFoundError(f"{model}: not a packed model zip, a model directory with meta.yaml, or a hub "
                                "repo id (owner/name)")
    missing = [k for k in keys if k not in files]
    if missing:
        raise FileNotFoundError(f"{model}: the pack has no {', '.join(missing)}; it holds {sorted(files)} "
                                "(another kind of model?)")
    return files


def _resolve_model_dir(root: Path, cache_dir=None) -> Dict[str, str]:
    """Files of an unzipped pack: meta.yaml's entries under ``root``; paths inside the configs that are
    relative to the pack's top (``data/token_list/bpe.model``) are made absolute in a cached copy."""
    meta = root / "meta.yaml"
    if not meta.is_file():
        raise FileNotFoundError(f"{root}: no meta.yaml; give the directory the packed zip was unzipped into")
    with open(meta, encoding="utf-8") as f:
        d = yaml.safe_load(f) or {}
    out = {key: str(root / rel) for key, rel in (d.get("files") or {}).items()}
    resolved = _cache_root(cache_dir) / "resolved" / hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]
    for key, rel in (d.get("yaml_files") or {}).items():
        with open(root / rel, encoding="utf-8") as f:
            conf = yaml.safe_load(f)
        conf = _absolute_paths(conf, root)
        target = resolved / rel
        atomic_write_text(target, yaml.safe_dump(conf, sort_keys=False))
        out[key] = str(target)
    return out


def _absolute_paths(value, root: Path):
    if isinstance(value, dict):
        return {k: _absolute_paths(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_absolute_paths(v, root) for v in value]
    # a packed file's path ("token_list/bpe.model"), not a word that happens to name a directory
    if isinstance(value, str) and "/" in value and not Path(value).is_absolute() and (root / value).is_file():
        return str((root / value).resolve())
    return value
