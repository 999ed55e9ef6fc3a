#!/usr/bin/env python3
"""Train a unit vocoder: units -> speech, for ASR-BLEU (DESIGN.md 3.4).

    python -m espnet_csst.bin.train_unit_vocoder --units dump/units/s2st_train/tgt_units \\
        --wav_scp dump/units/s2st_train/tgt_wav.scp --n_units 100 --unit_hop 640 --out_dir exp/vocoder \\
        --valid_units dump/units/s2st_dev/tgt_units --valid_wav_scp dump/units/s2st_dev/tgt_wav.scp

Two vocoder types (``--vocoder_type``):

* ``mel_gl`` (default): units -> log-mel conv net, Griffin-Lim at synthesis
  (:mod:`espnet_csst.units.vocoder`); trains in minutes on a CPU. L1 loss,
  AdamW, linear warmup then cosine decay.
* ``hifigan``: the unit HiFi-GAN (:mod:`espnet_csst.units.hifigan`, ESPnet's
  generator and multi-scale + multi-period discriminator) for real data; it
  needs a GPU and tens of thousands of steps. Log-mel L1 (x45), feature
  matching (x2) and adversarial losses; ``--adversarial_start`` steps of
  mel loss alone first.

All audio is loaded once; every step draws ``--batch_size`` random utterances
and a random window of at most ``--segment_units`` unit frames of each
(bounded cost per step). With a valid set, the log-mel L1 of whole utterances
is measured every ``--log_interval`` steps and the best weights are kept.

Deduplicated units (``dump_units --dedup true``) come with ``--durations``
(``--valid_durations``): the run length of every unit, from the same dump.
The vocoder then gets a duration model, trained on them, that predicts the
durations at synthesis.

Utterances missing from either the units or the wav.scp, unreadable audio and
utterances whose unit frames disagree with the audio length by more than
``--max_len_mismatch`` are dropped, with counts in the log.

``--config`` is an optional YAML of model options: the constructor arguments
of the chosen vocoder class (``embed_dim``, ``channels``, ...), and for
``hifigan`` also ``discriminator`` (options of ESPnet's
``HiFiGANMultiScaleMultiPeriodDiscriminator``). Outputs in ``--out_dir``:
``config.yaml``, ``model.pth`` (atomic), ``loss.png`` (train/valid L1) and
``train.log`` (one JSON summary line).

Like ESPnet's trainer, a run resumes (``--resume true``, the default): every
``--checkpoint_interval`` steps and at the end it writes ``checkpoint.pth``
(atomically: the model, the optimisers, the random generators, the history and
the best weights so far), and a rerun with the same options continues from it
to the same weights as an uninterrupted run; a rerun of a finished run only
writes the outputs again. A checkpoint of other options (vocoder type,
``--steps``, model options) stops the run; ``--resume false`` starts over.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import inspect
import itertools
import json
import logging
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch
import yaml
from espnet2.utils.types import str2bool
from tqdm import tqdm

from espnet_csst.units.audio import load_mono, read_wav_scp
from espnet_csst.units.durations import check_durations
from espnet_csst.units.hifigan import UnitHiFiGANTrainer
from espnet_csst.units.mel import log_mel
from espnet_csst.units.vocoder import pad_units, read_units, save_vocoder, vocoder_classes
from espnet_csst.utils.fileio import atomic_open, atomic_savefig, atomic_write_text

#: options of train_unit_vocoder's --config beyond the model class's constructor arguments
EXTRA_OPTIONS = {"mel_gl": set(), "hifigan": {"discriminator"}}
DEFAULT_LR = {"mel_gl": 2e-3, "hifigan": 2e-4}
CHECKPOINT_NAME = "checkpoint.pth"


@dataclass
class Example:
    utt: str
    units: torch.Tensor  # (T,)
    durations: torch.Tensor  # (T,) unit frames per unit (all 1 without deduplication)
    target: torch.Tensor  # log-mel (frames, n_mels) for mel_gl, waveform (samples,) for hifigan

    @functools.cached_property
    def frame_starts(self) -> List[int]:
        """The unit frame each unit starts at, and the total: what every training window looks up."""
        return [0, *itertools.accumulate(self.durations.tolist())]


def _name_some(keys: List[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def load_examples(units_file: Path, wav_scp: Path, durations_file: Optional[Path], n_units: int, unit_hop: int,
                  fs: int, make_target: Callable[[torch.Tensor], torch.Tensor],
                  max_mismatch: float) -> List[Example]:
    """Pair units (and durations) with the training target of their audio, dropping (and logging) what
    does not fit."""
    units = read_units(units_file)
    durations = None
    if durations_file is not None:
        durations = read_units(durations_file)
        check_durations({k: u for k, u in units.items() if u}, durations, durations_file)
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
    for utt in tqdm([k for k in units if k in wavs], desc=f"audio of {wav_scp.name}", unit="utt", disable=None):
        u = units[utt]
        if not u:
            dropped["no units"].append(utt)
            continue
        if min(u) < 0 or max(u) >= n_units:
            dropped["unit outside [0, n_units)"].append(utt)
            continue
        try:
            wav, _ = load_mono(wavs[utt], fs)
        except (ValueError, FileNotFoundError) as e:
            logging.warning(f"{utt}: {e}")
            dropped["unreadable audio"].append(utt)
            continue
        d = durations[utt] if durations is not None else [1] * len(u)
        if abs(sum(d) - len(wav) / unit_hop) > max_mismatch:
            dropped["unit count != audio length"].append(utt)
            continue
        examples.append(Example(utt, torch.tensor(u, dtype=torch.long), torch.tensor(d, dtype=torch.long),
                                make_target(torch.from_numpy(wav))))
    for reason, keys in dropped.items():
        if keys:
            logging.warning(f"dropped {len(keys)} utterance(s) of {units_file} ({reason}): {_name_some(keys)}")
    logging.info(f"{len(examples)} utterances from {units_file} + {wav_scp}")
    return examples


def random_window(ex: Example, segment_units: int, rng: random.Random) -> Tuple[int, int, int, int]:
    """``(first unit, end unit, first frame, end frame)`` of a random window of at most ``segment_units``
    unit frames (at least one unit, however long it lasts)."""
    frame_starts = ex.frame_starts
    total = frame_starts[-1]
    # the last unit a window may start at and still be full (or 0 for a short utterance)
    last_start = max(0, bisect.bisect_right(frame_starts, total - segment_units) - 1)
    first = rng.randint(0, min(last_start, len(ex.units) - 1))
    end = bisect.bisect_right(frame_starts, frame_starts[first] + segment_units) - 1
    end = min(max(end, first + 1), len(ex.units))
    return first, end, frame_starts[first], frame_starts[end]


def random_batch(examples: List[Example], batch_size: int, segment_units: int, scale: int,
                 rng: random.Random):
    """``batch_size`` random utterances, each cut to a random window; ``scale`` target steps per unit frame."""
    units, durations, targets = [], [], []
    for ex in (rng.choice(examples) for _ in range(batch_size)):
        first, end, f0, f1 = random_window(ex, segment_units, rng)
        units.append(ex.units[first:end].tolist())
        durations.append(ex.durations[first:end].tolist())
        targets.append(ex.target[f0 * scale : f1 * scale])
    return collate(units, durations, targets)


def collate(unit_lists, duration_lists, targets):
    """``(units, lengths, durations, target, target_lengths)``, right-padded with zeros."""
    units, lengths = pad_units(unit_lists)
    durations, _ = pad_units(duration_lists)
    target_lengths = torch.tensor([t.shape[0] for t in targets], dtype=torch.long)
    target = torch.zeros(len(targets), int(target_lengths.max()), *targets[0].shape[1:])
    for k, t in enumerate(targets):
        target[k, : t.shape[0]] = t
    return units, lengths, durations, target, target_lengths


def whole_batches(examples: List[Example], batch_size: int, device) -> List[Tuple[torch.Tensor, ...]]:
    batches = []
    for k in range(0, len(examples), batch_size):
        chunk = examples[k : k + batch_size]
        batch = collate([e.units.tolist() for e in chunk], [e.durations.tolist() for e in chunk],
                        [e.target for e in chunk])
        batches.append(tuple(t.to(device) for t in batch))
    return batches


@torch.no_grad()
def mel_valid_loss(model, batches) -> float:
    """Frame-weighted log-mel L1 over whole utterances (eval mode, true durations)."""
    model.eval()
    total, frames = 0.0, 0
    for units, lengths, durations, target, target_lengths in batches:
        d = durations if model.durations is not None else None
        frames_pred = (d.sum(1) if d is not None else lengths) * model.upsample
        n = int(torch.minimum(frames_pred, target_lengths).sum())
        _, stats = model.loss(units, lengths, target, target_lengths, d)
        total += stats["mel_l1"] * n
        frames += n
    model.train()
    return total / max(frames, 1)


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warmup, then cosine decay to 10% of the peak (OneCycleLR breaks on runs of a few steps)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def save_plot(history: List[dict], path: Path, vocoder_type: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([h["step"] for h in history], [h["train_l1"] for h in history], label="train log-mel L1")
    valid = [(h["step"], h["valid_l1"]) for h in history if "valid_l1" in h]
    if valid:
        ax.plot(*zip(*valid), "o-", label="valid log-mel L1")
    ax.set_xlabel("step")
    ax.set_ylabel("log-mel L1")
    ax.set_title(f"unit vocoder training ({vocoder_type})")
    ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)


def read_model_options(path: Optional[Path], vocoder_type: str) -> dict:
    """The YAML's options, checked against the vocoder class's constructor (so a typo is named)."""
    if path is None:
        return {}
    with open(path, encoding="utf-8") as f:
        conf = yaml.safe_load(f) or {}
    if not isinstance(conf, dict):
        raise ValueError(f"{path}: expected a mapping of model options, got {type(conf).__name__}")
    params = set(inspect.signature(vocoder_classes()[vocoder_type].__init__).parameters)
    known = (params - {"self", "n_units", "unit_hop", "duration_predictor"}) | EXTRA_OPTIONS[vocoder_type]
    unknown = set(conf) - known
    if unknown:
        raise ValueError(f"{path}: unknown {vocoder_type} vocoder option(s) {sorted(unknown)}; known: "
                         f"{sorted(known)}")
    return conf


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--units", required=True, type=Path, help="Kaldi text file 'utt u1 u2 ...'")
    p.add_argument("--wav_scp", required=True, type=Path, help="the audio the units were extracted from")
    p.add_argument("--durations", type=Path, default=None,
                   help="deduplicated units: 'utt d1 d2 ...' run lengths (dump_units --out_durations)")
    p.add_argument("--n_units", required=True, type=int, help="K: units are in [0, K)")
    p.add_argument("--unit_hop", type=int, default=640, help="audio samples per unit frame (640 = 40 ms at 16 kHz)")
    p.add_argument("--out_dir", required=True, type=Path)
    p.add_argument("--vocoder_type", choices=sorted(EXTRA_OPTIONS), default="mel_gl")
    p.add_argument("--valid_units", type=Path, default=None)
    p.add_argument("--valid_wav_scp", type=Path, default=None)
    p.add_argument("--valid_durations", type=Path, default=None)
    p.add_argument("--config", type=Path, default=None, help="YAML of model options (embed_dim, channels, ...)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--segment_units", type=int, default=48, help="longest training window, in unit frames")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: 2e-3 mel_gl, 2e-4 hifigan)")
    p.add_argument("--warmup", type=int, default=None, help="warmup steps (default: 5%% of --steps)")
    p.add_argument("--adversarial_start", type=int, default=0,
                   help="hifigan: steps of log-mel loss alone before the discriminator joins")
    p.add_argument("--max_len_mismatch", type=float, default=2,
                   help="drop utterances whose unit frames and audio length (in unit frames) differ by more")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log_interval", type=int, default=50)
    p.add_argument("--resume", type=str2bool, default=True,
                   help="continue from <out_dir>/checkpoint.pth if there is one (false: start over)")
    p.add_argument("--checkpoint_interval", type=int, default=None,
                   help="steps between checkpoints (default: --log_interval)")
    return p


def check_args(parser, args) -> None:
    if (args.valid_units is None) != (args.valid_wav_scp is None):
        parser.error("give both --valid_units and --valid_wav_scp, or neither")
    if args.valid_units is not None and (args.durations is None) != (args.valid_durations is None):
        parser.error("--durations and --valid_durations go together (both sets deduplicated, or neither)")
    if args.steps < 1 or args.batch_size < 1 or args.segment_units < 1 or args.log_interval < 1:
        parser.error("--steps, --batch_size, --segment_units and --log_interval must be positive")
    if args.checkpoint_interval is None:
        args.checkpoint_interval = args.log_interval
    if args.checkpoint_interval < 1:
        parser.error("--checkpoint_interval must be positive")


class MelGLTraining:
    """AdamW with linear warmup then cosine decay (a LambdaLR) around a :class:`UnitMelVocoder`."""

    def __init__(self, model, train: List[Example], valid_batches, lr: float, warmup: int, steps: int,
                 use_durations: bool, device):
        # Start the output layer at the mean training log-mel: the first steps then refine
        # spectral shape instead of spending themselves on the global offset (~ -8 in log units).
        with torch.no_grad():
            model.out.bias.copy_(torch.cat([e.target for e in train]).mean(0))
        self.model = model.to(device).train()
        self.valid_batches, self.use_durations = valid_batches, use_durations
        self.opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda step: lr_factor(step, warmup, steps))

    def step(self, batch, step: int) -> Dict[str, float]:
        units, lengths, durations, target, target_lengths = batch
        loss, stats = self.model.loss(units, lengths, target, target_lengths,
                                      durations if self.use_durations else None)
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.sched.step()
        return stats

    def valid_l1(self) -> float:
        return mel_valid_loss(self.model, self.valid_batches)

    def state(self) -> dict:
        # LambdaLR.state_dict leaves the lambda out (a function): the resumed run rebuilds it from its
        # own --steps (checked against the checkpoint) and --warmup (like --lr, the caller's to keep).
        return {"opt": self.opt.state_dict(), "sched": self.sched.state_dict()}

    def load_state(self, state: dict) -> None:
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])


class HiFiGANTraining:
    """:class:`UnitHiFiGANTrainer` (discriminator, losses, one AdamW per network) with the same LR schedule."""

    def __init__(self, model, disc_options: Optional[dict], valid_batches, lr: float, warmup: int, steps: int,
                 adversarial_start: int, use_durations: bool, device):
        self.model = model
        self.trainer = UnitHiFiGANTrainer(model, disc_options, lr=lr, adversarial_start=adversarial_start)
        self.trainer.to(device).train()
        self.valid_batches, self.use_durations = valid_batches, use_durations
        self.lr, self.warmup, self.steps = lr, warmup, steps

    def step(self, batch, step: int) -> Dict[str, float]:
        # the LR is a function of the step alone: nothing to save for it
        self.trainer.set_lr_factor(lr_factor(step, self.warmup, self.steps), self.lr)
        units, lengths, durations, wav, wav_lengths = batch
        return self.trainer.step(units, lengths, wav, wav_lengths, durations if self.use_durations else None)

    def valid_l1(self) -> float:
        return self.trainer.valid_mel_l1(self.valid_batches)

    def state(self) -> dict:
        return self.trainer.training_state()

    def load_state(self, state: dict) -> None:
        self.trainer.load_training_state(state)


@dataclass
class Progress:
    """Where a run stands between two steps (with the model and the optimisers, what a checkpoint holds)."""

    step: int = 0  # the next step to run
    history: List[dict] = field(default_factory=list)  # one entry per --log_interval
    running: Dict[str, List[float]] = field(default_factory=dict)  # the stats since the last entry
    best: Tuple[float, Optional[dict], int] = (float("inf"), None, 0)  # (valid L1, CPU weights, step)
    elapsed_s: float = 0.0

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> "Progress":
        return cls(int(checkpoint["step"]), checkpoint["history"], checkpoint["running"],
                   tuple(checkpoint["best"]), float(checkpoint["elapsed_s"]))


def weights_copy(model) -> Dict[str, torch.Tensor]:
    """A CPU copy of the weights (cloned: on a CPU, ``.cpu()`` would alias the tensors training goes on changing)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def rng_state_to_plain(state: tuple) -> list:
    """``random.Random.getstate()`` as lists of ints (plain data that ``weights_only=True`` loads)."""
    version, internal, gauss_next = state
    return [version, list(internal), gauss_next]


def rng_state_from_plain(state: list) -> tuple:
    """Back to the nested tuples ``random.Random.setstate`` insists on."""
    version, internal, gauss_next = state
    return version, tuple(internal), gauss_next


def run_identity(args, model, disc_options: Optional[dict]) -> dict:
    """What a checkpoint must share with this run to continue it: the vocoder type, the step count
    (the LR schedule depends on it) and every model option (``hparams``: n_units, unit_hop, the
    duration model, ...)."""
    return {"vocoder_type": args.vocoder_type, "steps": args.steps, "vocoder": model.hparams,
            "discriminator": disc_options}


def identity_differences(saved: dict, current: dict) -> List[str]:
    """``"name: checkpoint X, this run Y"`` for every option that differs (model options one by one)."""
    diffs = []
    for key, new in current.items():
        old = saved.get(key)
        if key == "vocoder" and isinstance(old, dict):
            diffs += [f"{k}: checkpoint {old.get(k)!r}, this run {new.get(k)!r}"
                      for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        elif old != new:
            diffs.append(f"{key}: checkpoint {old!r}, this run {new!r}")
    return diffs


def load_checkpoint(path: Path, identity: dict) -> dict:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    diffs = identity_differences(checkpoint.get("run", {}), identity)
    if diffs:
        raise ValueError(f"{path} is the checkpoint of another run ({'; '.join(diffs)}): resume it with the "
                         "same options, or start over with --resume false (which overwrites it) or another "
                         "--out_dir")
    return checkpoint


def save_checkpoint(path: Path, identity: dict, model, training, progress: Progress, rng: random.Random,
                    data_sizes: Dict[str, int]) -> None:
    """Everything the loop needs to continue bit-exactly from ``progress.step``; written atomically,
    so a kill while it is written leaves the previous checkpoint."""
    checkpoint = {
        "run": identity,
        "step": progress.step,
        "model": weights_copy(model),
        "training": training.state(),
        "python_rng": rng_state_to_plain(rng.getstate()),  # the batch sampler's
        "torch_rng": torch.get_rng_state(),  # dropout
        "cuda_rng": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
        "history": progress.history,
        "running": progress.running,
        "best": progress.best,
        "elapsed_s": progress.elapsed_s,
        "data": data_sizes,  # for the summary, when a finished run only writes its outputs again
    }
    with atomic_open(path, "wb") as f:
        torch.save(checkpoint, f)


def restore(checkpoint: dict, model, training, rng: random.Random) -> None:
    model.load_state_dict(checkpoint["model"])
    training.load_state(checkpoint["training"])
    rng.setstate(rng_state_from_plain(checkpoint["python_rng"]))
    torch.set_rng_state(checkpoint["torch_rng"])
    if checkpoint["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(checkpoint["cuda_rng"])


def train_loop(args, training, train: List[Example], scale: int, device, progress: Progress,
               rng: random.Random, has_valid: bool, save: Callable[[Progress], None]) -> None:
    """Steps ``progress.step`` .. ``--steps``: a log entry (and a valid L1) every ``--log_interval``
    steps, a checkpoint every ``--checkpoint_interval`` steps, both after the last step too."""
    start = time.time() - progress.elapsed_s  # elapsed_s counts the time of earlier runs too
    bar = tqdm(range(progress.step, args.steps), initial=progress.step, total=args.steps,
               desc=f"vocoder ({args.vocoder_type})", unit="step", disable=None)
    for step in bar:
        batch = tuple(t.to(device) for t in random_batch(train, args.batch_size, args.segment_units, scale, rng))
        for key, value in training.step(batch, step).items():
            progress.running.setdefault(key, []).append(value)
        done = step + 1
        last = done == args.steps
        if done % args.log_interval == 0 or last:
            means = {k: round(sum(v) / len(v), 4) for k, v in progress.running.items()}
            entry = {"step": done, "train_l1": means.pop("mel_l1"),
                     **{f"train_{k}": v for k, v in means.items()},
                     "elapsed_s": round(time.time() - start, 1)}
            progress.running = {}
            if has_valid:
                entry["valid_l1"] = round(training.valid_l1(), 4)
                if entry["valid_l1"] < progress.best[0]:
                    progress.best = (entry["valid_l1"], weights_copy(training.model), done)
            progress.history.append(entry)
            bar.set_postfix({k: v for k, v in entry.items() if k.endswith("_l1")})
            logging.info(f"step {done}/{args.steps} " + " ".join(f"{k}={v}" for k, v in entry.items()
                                                                if k != "step"))
        progress.step, progress.elapsed_s = done, time.time() - start
        if done % args.checkpoint_interval == 0 or last:
            save(progress)


def write_outputs(args, model, progress: Progress, train_utts: int, valid_utts: int) -> None:
    """config.yaml + model.pth (the best-valid weights, else the last), loss.png and train.log."""
    best_l1, best_weights, best_step = progress.best
    if best_weights is not None:
        model.load_state_dict(best_weights)
        logging.info(f"keeping the weights of step {best_step} (best valid L1 {best_l1})")
    model.cpu()
    history = progress.history
    summary = {"vocoder_type": args.vocoder_type, "steps": args.steps, "seconds": round(progress.elapsed_s, 1),
               "train_utts": train_utts, "valid_utts": valid_utts, "final_train_l1": history[-1]["train_l1"],
               "final_valid_l1": history[-1].get("valid_l1"),
               "best_valid_l1": best_l1 if best_weights is not None else None,
               "best_step": best_step if best_weights is not None else args.steps}
    save_vocoder(args.out_dir, model, {
        "units": str(args.units), "wav_scp": str(args.wav_scp), "seed": args.seed, "training": summary,
    })
    save_plot(history, args.out_dir / "loss.png", args.vocoder_type)
    atomic_write_text(args.out_dir / "train.log", json.dumps(summary) + "\n")
    logging.info(f"wrote {args.out_dir}/config.yaml, model.pth, loss.png, train.log in {progress.elapsed_s:.0f} s; "
                 f"final train L1 {summary['final_train_l1']}"
                 + (f", best valid L1 {summary['best_valid_l1']}" if valid_utts else ""))


def existing_checkpoint(args, identity: dict) -> Optional[dict]:
    """The checkpoint to continue from (``--resume true`` and one in ``--out_dir``), else None."""
    path = args.out_dir / CHECKPOINT_NAME
    if not path.is_file():
        return None
    if not args.resume:
        # removed now, not at the first save: a run killed before that must not resume the old one
        logging.info(f"--resume false: starting over, removing {path}")
        path.unlink()
        return None
    return load_checkpoint(path, identity)


def main(argv=None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    check_args(parser, args)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    options = read_model_options(args.config, args.vocoder_type)
    disc_options = options.pop("discriminator", None)
    model = vocoder_classes()[args.vocoder_type](args.n_units, args.unit_hop,
                                                 duration_predictor=args.durations is not None, **options)
    identity = run_identity(args, model, disc_options)
    checkpoint = existing_checkpoint(args, identity)
    if checkpoint is not None and checkpoint["step"] == args.steps:
        # a rerun of a finished stage: no audio to load, no step to run
        logging.info(f"{args.out_dir / CHECKPOINT_NAME}: training already finished ({args.steps} steps); "
                     "writing the outputs again")
        model.load_state_dict(checkpoint["model"])
        write_outputs(args, model, Progress.from_checkpoint(checkpoint), **checkpoint["data"])
        return 0

    hifigan = args.vocoder_type == "hifigan"
    if hifigan:
        def make_target(wav):
            return wav
        scale = args.unit_hop
    else:
        mel_cfg = model.mel_cfg

        def make_target(wav):
            return log_mel(wav, mel_cfg)
        scale = model.upsample
    train = load_examples(args.units, args.wav_scp, args.durations, args.n_units, args.unit_hop, model.fs,
                          make_target, args.max_len_mismatch)
    if not train:
        raise ValueError(f"no usable training utterance in {args.units} + {args.wav_scp}; see the warnings above")
    valid: List[Example] = []
    if args.valid_units is not None:
        valid = load_examples(args.valid_units, args.valid_wav_scp, args.valid_durations, args.n_units,
                              args.unit_hop, model.fs, make_target, args.max_len_mismatch)
        if not valid:
            logging.warning("no usable valid utterance: keeping the last weights instead of the best-valid ones")
    valid_batches = whole_batches(valid, args.batch_size, device)

    lr = args.lr if args.lr is not None else DEFAULT_LR[args.vocoder_type]
    warmup = args.warmup if args.warmup is not None else max(1, args.steps // 20)
    use_durations = args.durations is not None
    if hifigan:
        training = HiFiGANTraining(model, disc_options, valid_batches, lr, warmup, args.steps,
                                   args.adversarial_start, use_durations, device)
    else:
        training = MelGLTraining(model, train, valid_batches, lr, warmup, args.steps, use_durations, device)
    progress = Progress()
    if checkpoint is not None:
        restore(checkpoint, model, training, rng)
        progress = Progress.from_checkpoint(checkpoint)
        logging.info(f"resuming from step {progress.step} ({args.out_dir / CHECKPOINT_NAME})")

    n_params = sum(p.numel() for p in model.parameters())
    logging.info(f"{args.vocoder_type} vocoder: {n_params / 1e6:.2f} M parameters, unit frame = {args.unit_hop} "
                 f"samples, duration model: {model.durations is not None}, device {device}")
    data_sizes = {"train_utts": len(train), "valid_utts": len(valid)}

    def save(progress: Progress) -> None:
        save_checkpoint(args.out_dir / CHECKPOINT_NAME, identity, model, training, progress, rng, data_sizes)

    train_loop(args, training, train, scale, device, progress, rng, bool(valid), save)
    write_outputs(args, model, progress, **data_sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
