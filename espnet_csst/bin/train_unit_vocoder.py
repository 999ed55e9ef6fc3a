#!/usr/bin/env python3
"""Train the cheap unit vocoder (units -> log-mel conv net; Griffin-Lim at synthesis, DESIGN.md 3.4).

    python -m espnet_csst.bin.train_unit_vocoder --units dump/units/s2st_train/units.en \\
        --wav_scp data/s2st_train/wav.scp.en --n_units 100 --unit_hop 640 --out_dir exp/vocoder \\
        --valid_units dump/units/s2st_dev/units.en --valid_wav_scp data/s2st_dev/wav.scp.en

All audio is loaded once and turned into log-mels; every step draws
``--batch_size`` random utterances and a random window of at most
``--segment_units`` units of each (bounded cost per step), and the network
learns to predict the window's log-mels with an L1 loss (AdamW, linear warmup
then cosine decay). With a valid set, its full-utterance L1 is measured every
``--log_interval`` steps and the best weights are kept.

Utterances missing from either the units or the wav.scp, unreadable audio and
utterances whose unit count disagrees with the audio length by more than
``--max_len_mismatch`` units are dropped, with counts in the log.

``--config`` is an optional YAML of model options (``embed_dim``, ``channels``,
``kernel_size``, ``num_layers``, ``mel_layers``, ``dropout``, ``mel``: a dict of
log-mel options). Outputs in ``--out_dir``: ``config.yaml``, ``model.pth``
(atomic), ``loss.png`` (train/valid L1) and ``train.log`` (one JSON summary line).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
import yaml
from tqdm import tqdm

from espnet_csst.units.audio import load_mono, read_wav_scp
from espnet_csst.units.vocoder import MelConfig, UnitMelVocoder, log_mel, pad_units, read_units, save_vocoder
from espnet_csst.utils.fileio import atomic_savefig, atomic_write_text

MODEL_OPTIONS = {"embed_dim", "channels", "kernel_size", "num_layers", "mel_layers", "dropout", "mel"}

Example = Tuple[str, torch.Tensor, torch.Tensor]  # utt, units (T,), log-mel (frames, n_mels)


def _name_some(keys: List[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def load_examples(units_file: Path, wav_scp: Path, n_units: int, unit_hop: int, mel_cfg: MelConfig,
                  max_mismatch: int) -> List[Example]:
    """Pair units with the log-mels of their audio, dropping (and logging) what does not fit."""
    units = read_units(units_file)
    wavs = dict(read_wav_scp(wav_scp))
    only_units = [k for k in units if k not in wavs]
    only_audio = [k for k in wavs if k not in units]
    if only_units:
        logging.warning(f"dropped {len(only_units)} utterance(s) of {units_file} not in {wav_scp}: "
                        f"{_name_some(only_units)}")
    if only_audio:
        logging.warning(f"dropped {len(only_audio)} utterance(s) of {wav_scp} not in {units_file}: "
                        f"{_name_some(only_audio)}")
    dropped: Dict[str, List[str]] = {"no units": [], "unreadable audio": [], "unit count != audio length": [],
                                     "unit outside [0, n_units)": []}
    examples: List[Example] = []
    for utt in tqdm([k for k in units if k in wavs], desc=f"log-mels of {wav_scp.name}", unit="utt",
                    disable=None):
        u = units[utt]
        if not u:
            dropped["no units"].append(utt)
            continue
        if min(u) < 0 or max(u) >= n_units:
            dropped["unit outside [0, n_units)"].append(utt)
            continue
        try:
            wav, _ = load_mono(wavs[utt], mel_cfg.fs)
        except (ValueError, FileNotFoundError) as e:
            logging.warning(f"{utt}: {e}")
            dropped["unreadable audio"].append(utt)
            continue
        if abs(len(u) - len(wav) / unit_hop) > max_mismatch:
            dropped["unit count != audio length"].append(utt)
            continue
        examples.append((utt, torch.tensor(u, dtype=torch.long), log_mel(torch.from_numpy(wav), mel_cfg)))
    for reason, keys in dropped.items():
        if keys:
            logging.warning(f"dropped {len(keys)} utterance(s) of {units_file} ({reason}): {_name_some(keys)}")
    logging.info(f"{len(examples)} utterances from {units_file} + {wav_scp}")
    return examples


def random_batch(examples: List[Example], batch_size: int, segment_units: int, upsample: int,
                 rng: random.Random):
    """``batch_size`` random utterances, each cut to a random window of ``segment_units`` units."""
    picked = [rng.choice(examples) for _ in range(batch_size)]
    unit_lists, mels = [], []
    for _, u, m in picked:
        n = min(len(u), m.shape[0] // upsample)  # the units that have audio frames
        n = max(n, 1)
        start = rng.randint(0, max(0, n - segment_units))
        seg = u[start : start + segment_units][: max(1, n - start)]
        unit_lists.append(seg.tolist())
        mels.append(m[start * upsample : (start + len(seg)) * upsample])
    return collate(unit_lists, mels)


def collate(unit_lists, mels):
    units, lengths = pad_units(unit_lists)
    mel_lengths = torch.tensor([m.shape[0] for m in mels], dtype=torch.long)
    target = torch.zeros(len(mels), int(mel_lengths.max()), mels[0].shape[1])
    for k, m in enumerate(mels):
        target[k, : m.shape[0]] = m
    return units, lengths, target, mel_lengths


@torch.no_grad()
def valid_loss(model: UnitMelVocoder, examples: List[Example], batch_size: int, device) -> float:
    """Frame-weighted L1 over whole utterances (eval mode, no dropout)."""
    model.eval()
    total, frames = 0.0, 0
    for k in range(0, len(examples), batch_size):
        chunk = examples[k : k + batch_size]
        units, lengths, target, mel_lengths = collate([u.tolist() for _, u, _ in chunk], [m for _, _, m in chunk])
        n = int(torch.minimum(lengths * model.upsample, mel_lengths).sum())
        loss = model.loss(units.to(device), lengths.to(device), target.to(device), mel_lengths.to(device))
        total += float(loss) * n
        frames += n
    model.train()
    return total / max(frames, 1)


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warmup, then cosine decay to 10% of the peak (OneCycleLR breaks on runs of a few steps)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def save_plot(history: List[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([h["step"] for h in history], [h["train_l1"] for h in history], label="train L1")
    valid = [(h["step"], h["valid_l1"]) for h in history if "valid_l1" in h]
    if valid:
        ax.plot(*zip(*valid), "o-", label="valid L1")
    ax.set_xlabel("step")
    ax.set_ylabel("log-mel L1")
    ax.set_title("unit vocoder training")
    ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)


def read_model_options(path: Optional[Path]) -> dict:
    if path is None:
        return {}
    with open(path, encoding="utf-8") as f:
        conf = yaml.safe_load(f) or {}
    if not isinstance(conf, dict):
        raise ValueError(f"{path}: expected a mapping of model options, got {type(conf).__name__}")
    unknown = set(conf) - MODEL_OPTIONS
    if unknown:
        raise ValueError(f"{path}: unknown vocoder option(s) {sorted(unknown)}; known: {sorted(MODEL_OPTIONS)}")
    return conf


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--units", required=True, type=Path, help="Kaldi text file 'utt u1 u2 ...'")
    p.add_argument("--wav_scp", required=True, type=Path, help="the audio the units were extracted from")
    p.add_argument("--n_units", required=True, type=int, help="K: units are in [0, K)")
    p.add_argument("--unit_hop", type=int, default=640, help="audio samples per unit (640 = 40 ms at 16 kHz)")
    p.add_argument("--out_dir", required=True, type=Path)
    p.add_argument("--valid_units", type=Path, default=None)
    p.add_argument("--valid_wav_scp", type=Path, default=None)
    p.add_argument("--config", type=Path, default=None, help="YAML of model options (embed_dim, channels, ...)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--segment_units", type=int, default=48, help="longest training window, in units")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=None, help="warmup steps (default: 5%% of --steps)")
    p.add_argument("--max_len_mismatch", type=float, default=2,
                   help="drop utterances whose unit count and audio length (in units) differ by more")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log_interval", type=int, default=50)
    return p


def main(argv=None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    if (args.valid_units is None) != (args.valid_wav_scp is None):
        parser.error("give both --valid_units and --valid_wav_scp, or neither")
    if args.steps < 1 or args.batch_size < 1 or args.segment_units < 1 or args.log_interval < 1:
        parser.error("--steps, --batch_size, --segment_units and --log_interval must be positive")
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    options = read_model_options(args.config)
    model = UnitMelVocoder(args.n_units, args.unit_hop, **options)
    mel_cfg = model.mel_cfg
    train = load_examples(args.units, args.wav_scp, args.n_units, args.unit_hop, mel_cfg, args.max_len_mismatch)
    if not train:
        raise ValueError(f"no usable training utterance in {args.units} + {args.wav_scp}; see the warnings above")
    valid: List[Example] = []
    if args.valid_units is not None:
        valid = load_examples(args.valid_units, args.valid_wav_scp, args.n_units, args.unit_hop, mel_cfg,
                              args.max_len_mismatch)
        if not valid:
            logging.warning("no usable valid utterance: keeping the last weights instead of the best-valid ones")

    # Start the output layer at the mean training log-mel: the first steps then refine
    # spectral shape instead of spending themselves on the global offset (~ -8 in log units).
    with torch.no_grad():
        model.out.bias.copy_(torch.cat([m for _, _, m in train]).mean(0))
    model.to(device).train()
    n_params = sum(p.numel() for p in model.parameters())
    logging.info(f"vocoder: {n_params / 1e6:.2f} M parameters, upsample x{model.upsample}, device {device}")

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = args.warmup if args.warmup is not None else max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, warmup, args.steps))
    history: List[dict] = []
    best: Tuple[float, Optional[dict], int] = (float("inf"), None, 0)
    running: List[float] = []
    start = time.time()
    bar = tqdm(range(args.steps), desc="vocoder", unit="step", disable=None)
    for step in bar:
        units, lengths, target, mel_lengths = random_batch(train, args.batch_size, args.segment_units,
                                                           model.upsample, rng)
        loss = model.loss(units.to(device), lengths.to(device), target.to(device), mel_lengths.to(device))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running.append(loss.item())
        last = step + 1 == args.steps
        if (step + 1) % args.log_interval == 0 or last:
            entry = {"step": step + 1, "train_l1": round(sum(running) / len(running), 4),
                     "lr": round(opt.param_groups[0]["lr"], 6), "elapsed_s": round(time.time() - start, 1)}
            running = []
            if valid:
                entry["valid_l1"] = round(valid_loss(model, valid, args.batch_size, device), 4)
                if entry["valid_l1"] < best[0]:
                    best = (entry["valid_l1"], copy.deepcopy(model.state_dict()), step + 1)
            history.append(entry)
            bar.set_postfix({k: v for k, v in entry.items() if k.endswith("_l1")})
            logging.info(f"step {step + 1}/{args.steps} " + " ".join(f"{k}={v}" for k, v in entry.items()
                                                                     if k != "step"))
    seconds = time.time() - start
    if best[1] is not None:
        model.load_state_dict(best[1])
        logging.info(f"keeping the weights of step {best[2]} (best valid L1 {best[0]})")

    model.cpu()
    summary = {"steps": args.steps, "seconds": round(seconds, 1), "train_utts": len(train),
               "valid_utts": len(valid), "final_train_l1": history[-1]["train_l1"],
               "final_valid_l1": history[-1].get("valid_l1"),
               "best_valid_l1": best[0] if best[1] is not None else None,
               "best_step": best[2] if best[1] is not None else args.steps}
    save_vocoder(args.out_dir, model, {
        "units": str(args.units), "wav_scp": str(args.wav_scp), "seed": args.seed, "training": summary,
    })
    save_plot(history, args.out_dir / "loss.png")
    atomic_write_text(args.out_dir / "train.log", json.dumps(summary) + "\n")
    logging.info(f"wrote {args.out_dir}/config.yaml, model.pth, loss.png, train.log in {seconds:.0f} s; "
                 f"final train L1 {summary['final_train_l1']}"
                 + (f", best valid L1 {summary['best_valid_l1']}" if valid else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
