"""The peer of the benchmarks: ESPnet's stock ST model (espnet2.tasks.st.STTask) of the mini recipe.

Built from ``egs2/mini_cs/csst1/conf/peer_st.yaml`` (conformer encoder + transformer
decoder + the auxiliary source CTC/decoder, sized like the CSST model) with random
weights and made-up token lists of the benchmarks' vocabulary sizes, so that no
trained model or data is needed. ``save_peer`` writes ``config.yaml`` + ``model.pth``
in the layout st_inference loads.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
PEER_CONFIG = REPO / "egs2/mini_cs/csst1/conf/peer_st.yaml"
#: ESPnet's ST on cached Whisper base frames (scripts/peer_st.sh --speech_input frames)
PEER_FRAMES_CONFIG = REPO / "egs2/mini_cs/csst1/conf/peer_st_whisper.yaml"


def _token_list(path: Path, n: int) -> Path:
    path.write_text("\n".join(["<blank>", "<unk>", *[f"t{k}" for k in range(n - 3)], "<sos/eos>"]) + "\n")
    return path


def peer_args(work: Path, vocab: int, src_vocab: int, config: Path = PEER_CONFIG) -> argparse.Namespace:
    from espnet2.tasks.st import STTask

    work.mkdir(parents=True, exist_ok=True)
    argv = [
        "--config", str(config), "--output_dir", str(work),
        "--token_list", str(_token_list(work / "tokens.txt", vocab)),
        "--src_token_list", str(_token_list(work / "src_tokens.txt", src_vocab)),
        "--token_type", "word", "--src_token_type", "word",
    ]
    if (yaml.safe_load(config.read_text()) or {}).get("normalize") == "global_mvn":
        # the recipe's global_mvn needs collected stats; utterance_mvn costs the same
        argv += ["--normalize", "utterance_mvn"]
    return STTask.get_parser().parse_args(argv)


def build_peer(work: Path, vocab: int, src_vocab: int, seed: int = 0, config: Path = PEER_CONFIG):
    from espnet2.tasks.st import STTask

    torch.manual_seed(seed)
    args = peer_args(work, vocab, src_vocab, config)
    return STTask.build_model(args), args


def save_peer(work: Path, model, args) -> tuple:
    """``(config.yaml, model.pth)`` of a peer model, as st_train writes them."""
    config, model_file = work / "config.yaml", work / "model.pth"
    config.write_text(yaml.safe_dump(vars(args), sort_keys=False))
    torch.save(model.state_dict(), model_file)
    return config, model_file
