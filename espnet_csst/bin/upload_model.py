#!/usr/bin/env python3
"""Lay out a packed CSST model for the Hugging Face hub, with a model card; upload it if asked.

    python -m espnet_csst.bin.upload_model --packed exp/csst_stageC/packed.zip \\
        --results RESULTS.md --out_dir exp/csst_stageC/hf_upload [--repo me/csst-mini]

``--out_dir`` gets the zip's files (``meta.yaml``, the config, the model, the
sentencepiece model, the statistics), which is the layout
``Speech2Text.from_pretrained`` and ESPnet's model-zoo uploads use, and a
``README.md`` model card: hub metadata, how to load and decode, and the
recipe's RESULTS.md. Nothing leaves the machine unless ``--repo`` is given.
Then the folder is uploaded with huggingface_hub, with the token of
``huggingface-cli login`` or ``$HF_TOKEN``; without one it stops with a
clear error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import zipfile
from pathlib import Path
from typing import List, Optional

import yaml

from espnet_csst.utils.fileio import atomic_write_text


def model_card(config: dict, results: Optional[str], repo: Optional[str], recipe: str) -> str:
    front = {"tags": ["espnet", "espnet_csst", "speech-translation", "code-switching", "audio"],
             "library_name": "espnet"}
    name = repo or "<owner>/<name>"
    llm = (config.get("llm_conf") or {}).get("model_name_or_path") or "a Llama-style LLM built from its config"
    lines = [
        "---", yaml.safe_dump(front, sort_keys=False).rstrip(), "---", "",
        f"# {name}", "",
        f"An espnet_csst model trained by `{recipe}`: {config.get('encoder', '?')} encoder -> "
        f"{config.get('projector', '?')} projector -> {llm}.", "",
        "## Use it", "",
        "```python",
        "from espnet_csst.bin.csst_inference import Speech2Text",
        f"s2t = Speech2Text.from_pretrained(\"{name}\", task_spec=\"st es en\")",
        "text = s2t(waveform, fs=sample_rate)[0][\"text\"]   # any sample rate; resampled to the model's",
        "```", "",
        "Or from a local copy of this repository (the directory with `meta.yaml`), or from the recipe's "
        "`packed.zip`.", "",
    ]
    if results:
        lines += ["## Results (the recipe's RESULTS.md)", "", results.strip(), ""]
    return "\n".join(lines)


def lay_out(packed: Path, out_dir: Path) -> dict:
    """Unzip the pack into ``out_dir`` (replacing an older layout); returns the training config."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(packed) as z:
        z.extractall(tmp)
    os.replace(tmp, out_dir)
    with open(out_dir / "meta.yaml", encoding="utf-8") as f:
        meta = yaml.safe_load(f)
    with open(out_dir / meta["yaml_files"]["csst_train_config"], encoding="utf-8") as f:
        return yaml.safe_load(f)


def upload(out_dir: Path, repo: str, private: bool) -> str:
    from huggingface_hub import HfApi, get_token

    token = os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise SystemExit("upload_model: no Hugging Face token: run `huggingface-cli login` or set HF_TOKEN; "
                         f"the model is laid out in {out_dir} and can be uploaded later")
    api = HfApi(token=token)
    api.create_repo(repo, private=private, exist_ok=True)
    api.upload_folder(folder_path=str(out_dir), repo_id=repo, commit_message="espnet_csst model")
    return f"https://huggingface.co/{repo}"


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--packed", required=True, type=Path, help="pack_csst's zip")
    p.add_argument("--out_dir", required=True, type=Path)
    p.add_argument("--results", type=Path, default=None, help="the recipe's RESULTS.md")
    p.add_argument("--repo", default=None, help="hub repo id owner/name: upload (default: lay out only)")
    p.add_argument("--private", action="store_true")
    p.add_argument("--recipe", default="egs2/mini_cs/csst1/run.sh")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    if not args.packed.is_file():
        print(f"upload_model: error: {args.packed} does not exist; run the pack stage first", file=sys.stderr)
        return 1
    config = lay_out(args.packed, args.out_dir)
    results = args.results.read_text(encoding="utf-8") if args.results and args.results.is_file() else None
    atomic_write_text(args.out_dir / "README.md", model_card(config, results, args.repo, args.recipe))
    print(f"wrote {args.out_dir} (model card: {args.out_dir / 'README.md'})")
    if args.repo:
        print(f"uploaded to {upload(args.out_dir, args.repo, args.private)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
