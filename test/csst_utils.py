"""Helpers shared by the CSST model tests: tiny text, a tiny token list, a tiny model.

Everything is built locally from configs (no downloads) and sized so that a
forward pass takes milliseconds on a CPU.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

EN_WORDS = ("the cat dog house red blue big small eats runs sees a good morning water city "
            "green book table quickly slowly today tomorrow friend teacher school car").split()
ES_WORDS = ("el gato perro casa rojo azul grande pequeño come corre ve un buen día agua ciudad "
            "verde libro mesa rápido lento hoy mañana amigo maestro escuela coche niño años").split()


def tiny_sentences(n: int = 300, seed: int = 0) -> List[str]:
    """``n`` short sentences of a fixed small vocabulary, half English, half Spanish."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = EN_WORDS if i % 2 == 0 else ES_WORDS
        s = " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))
        out.append(s[0].upper() + s[1:] + ("." if i % 3 else ""))
    return out


def build_token_list(out: Path, text_file: Path, vocab_size: int = 150) -> Dict[str, Path]:
    from espnet_csst.bin import make_token_list

    rc = make_token_list.main(["--token_type", "bpe", "--out", str(out), "--text", str(text_file),
                               "--vocab_size", str(vocab_size), "--languages", "es", "en"])
    assert rc == 0
    return {"token_list": out / "tokens.txt", "bpemodel": out / "bpe.model"}


LLM_CONFIG = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=2, max_position_embeddings=128)


def tiny_model(codec, max_positions: int = 128, seed: int = 0, frontend: bool = True,
               n_mels: int = 20, projector: str = "linear", input_layer: str = "conv2d", downsample: int = 2,
               **model_conf):
    """encoder (1 transformer block, width 32, conv2d) -> projector (k=2) -> 2-layer Llama (width 32).

    ``frontend=False``: no frontend, the model reads (B, T, n_mels) features directly.
    """
    from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
    from espnet2.asr.frontend.default import DefaultFrontend
    from espnet2.layers.utterance_mvn import UtteranceMVN

    from espnet_csst.llm.hf_causal_lm import HFCausalLM
    from espnet_csst.models.csst_model import ESPnetCSSTModel
    from espnet_csst.projectors.conv1d import Conv1dProjector
    from espnet_csst.projectors.linear import LinearProjector

    torch.manual_seed(seed)
    fe = DefaultFrontend(fs=16000, n_fft=256, hop_length=160, n_mels=n_mels) if frontend else None
    encoder = TransformerEncoder(input_size=n_mels, output_size=32, attention_heads=2, linear_units=64,
                                 num_blocks=1, dropout_rate=0.0, positional_dropout_rate=0.0,
                                 attention_dropout_rate=0.0, input_layer=input_layer)
    llm = HFCausalLM(vocab_size=codec.vocab_size, pad_id=codec.pad_id, bos_id=codec.bos_id,
                     eos_id=codec.eos_id, arch="llama",
                     config=dict(LLM_CONFIG, max_position_embeddings=max_positions))
    from espnet_csst.projectors.moe import MoEProjector

    if projector == "moe":
        proj = MoEProjector(input_size=32, output_size=32, languages=("es", "en"), num_experts=3,
                            downsample=downsample, hidden_size=64)
    else:
        proj_cls = {"linear": LinearProjector, "conv1d": Conv1dProjector}[projector]
        proj = proj_cls(input_size=32, output_size=32, downsample=downsample, hidden_size=64)
    return ESPnetCSSTModel(frontend=fe, specaug=None, normalize=UtteranceMVN() if frontend else None,
                           encoder=encoder, projector=proj, llm=llm, **model_conf)


def make_batch(preprocessor, speeches: Sequence[np.ndarray], tasks: Sequence[str],
               texts: Optional[Sequence[str]] = None) -> Dict[str, torch.Tensor]:
    """Preprocess + collate like the ESPnet data loader (int pad -1, float pad 0)."""
    from espnet2.train.collate_fn import CommonCollateFn

    items = []
    for k, (sp, task) in enumerate(zip(speeches, tasks)):
        data = {"task": task}
        if texts is not None:
            data["text"] = texts[k]
        data = preprocessor(f"utt{k}", data)
        # speech is added after preprocessing so that (T, D) features stay features
        data["speech"] = np.asarray(sp, dtype=np.float32)
        items.append((f"utt{k}", data))
    _, batch = CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)(items)
    return batch


def random_speech(seconds: Sequence[float], seed: int = 0, fs: int = 16000) -> List[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(int(s * fs))).astype(np.float32) for s in seconds]


def random_feats(lengths: Sequence[int], dim: int = 20, seed: int = 0) -> List[np.ndarray]:
    """Feature matrices (T, dim) for a frontend-less model."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((t, dim)).astype(np.float32) for t in lengths]


#: The CSST training config of the tests: the mini recipe's layout at toy sizes.
TINY_CSST_CONFIG = {
    "frontend": "default",
    "frontend_conf": {"fs": "16k", "n_fft": 256, "hop_length": 160, "n_mels": 20},
    "normalize": "utterance_mvn",
    "encoder": "transformer",
    "encoder_conf": {"output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 1,
                     "dropout_rate": 0.0, "positional_dropout_rate": 0.0, "attention_dropout_rate": 0.0,
                     "input_layer": "conv2d"},
    "projector": "linear",
    "projector_conf": {"downsample": 2, "hidden_size": 64},
    "llm": "hf_causal_lm",
    "llm_conf": {"arch": "llama", "config": dict(LLM_CONFIG)},
    "optim": "adam",
    "optim_conf": {"lr": 0.003},
    "batch_type": "sorted",
    "batch_size": 4,
    "max_epoch": 2,
    "num_workers": 0,
    "seed": 0,
    "best_model_criterion": [["valid", "acc", "max"]],
    "keep_nbest_models": 1,
    "num_att_plot": 0,
    "use_tensorboard": False,
}


def write_config(path: Path, **overrides) -> Path:
    import yaml

    conf = dict(TINY_CSST_CONFIG, **overrides)
    path.write_text(yaml.safe_dump(conf, sort_keys=False), encoding="utf-8")
    return path


def subprocess_env() -> dict:
    """Environment for child processes: the repository importable, one thread each."""
    import os

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def merge_micro(conf: dict, update: dict) -> dict:
    """``conf`` with ``update`` merged in (role ``*_conf`` dicts key by key; ``llm_conf`` replaced
    whole) and no ``batch_bins``, for micro-sized recipe runs."""
    conf.pop("batch_bins", None)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(conf.get(key), dict) and key != "llm_conf":
            conf[key] = {**conf[key], **value}
        else:
            conf[key] = value
    return conf


def shrink_config(src: Path, dst: Path, update: dict) -> None:
    """Write ``src``'s YAML to ``dst`` with ``update`` merged in (:func:`merge_micro`)."""
    import yaml

    conf = merge_micro(yaml.safe_load(src.read_text(encoding="utf-8")), update)
    dst.write_text(yaml.safe_dump(conf, sort_keys=False), encoding="utf-8")


# ------------------------------------------------------------------ two gloo ranks
def _gloo_rank(rank: int, fn, port: int, out) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        fn(rank, out)
    finally:
        torch.distributed.destroy_process_group()


def run_two_gloo_ranks(fn, timeout: float = 120.0) -> dict:
    """Run ``fn(rank, out)`` (a module-level function) in two spawned gloo ranks; returns what they
    put in the shared dict ``out``. Fails, instead of waiting forever, if the ranks hang."""
    import socket
    import time

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    ctx = mp.spawn(_gloo_rank, args=(fn, port, out), nprocs=2, join=False)
    deadline = time.time() + timeout
    try:
        while not ctx.join(timeout=5):
            assert time.time() < deadline, "the ranks hung"
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.terminate()
    return dict(out)


def nonfinite_loss_epochs(exp: Path, pattern: str) -> Dict[str, List[float]]:
    """The ``nonfinite_loss`` shares (train and valid) of every epoch summary in ``exp/<pattern>/train.log``.

    Every trainer matched must have logged at least one epoch (an empty dict entry fails the
    callers' ``all(v == 0 ...)`` through its own assertion here).
    """
    import re

    shares = {}
    for log in sorted(exp.glob(f"{pattern}/train.log")):
        found = [float(v) for line in log.read_text(errors="replace").splitlines() if "epoch results" in line
                 for v in re.findall(r"nonfinite_loss=([^,\s]+)", line)]
        assert found, f"{log}: no epoch summary with nonfinite_loss"
        shares[str(log.relative_to(exp))] = found
    assert shares, f"no {pattern}/train.log under {exp}"
    return shares
