#!/usr/bin/env python3
"""Pre-train a from-scratch LLM on the corpus's text before it hears speech.

The sequences have exactly the layout the CSST model uses later, with the
source *text* in the slot where projected speech will go::

    <bos> prefix | source text | instruction target <eos>

so the LLM learns both languages, the prompts, and text translation; speech
training then only has to map speech into a space the LLM already reads.
The loss covers source and target tokens (not the prompt).

The architecture comes from the CSST training config (``llm``/``llm_conf``,
token list), so the weights drop into that model with
``--init_param <out>/llm.pth::llm``. A plain training loop is used because
ESPnet's trainer needs an ESPnet task and data-dir iterators, and this is a
few hundred steps over text lines.

Example::

    python -m espnet_csst.bin.llm_pretrain --config conf/train_csst.yaml \\
        --token_list data/token_list/bpe_unigram1000/tokens.txt \\
        --bpemodel data/token_list/bpe_unigram1000/bpe.model \\
        --pair "st es en" text/parallel.es text/parallel.en 0.5 \\
        --pair "asr en en" text/mono.en text/mono.en 0.25 --out exp/llm_pretrain
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from pathlib import Path
from typing import List, Sequence, Tuple

import torch
import yaml

from espnet_csst.llm.prompts import DEFAULT_TEMPLATES, PromptTemplates
from espnet_csst.llm.tokens import TextCodec
from espnet_csst.models.csst_model import resolve_cpu_bf16
from espnet_csst.utils.fileio import atomic_savefig, atomic_write_text

IGNORE = -100


def read_pairs(src: Path, tgt: Path) -> List[Tuple[str, str]]:
    a = src.read_text(encoding="utf-8").splitlines()
    b = tgt.read_text(encoding="utf-8").splitlines()
    if len(a) != len(b):
        raise ValueError(f"{src} has {len(a)} lines but {tgt} has {len(b)}; parallel files must align")
    return [(x, y) for x, y in zip(a, b) if x.strip() and y.strip()]


class SequenceBuilder:
    def __init__(self, codec: TextCodec, prompts: PromptTemplates):
        self.codec, self.prompts = codec, prompts

    def build(self, task: str, src: str, tgt: str) -> Tuple[List[int], List[int]]:
        prefix, instruction = self.prompts.render(task)
        p = [self.codec.bos_id] + self.codec.encode(prefix)
        s = self.codec.encode(src)
        i = self.codec.encode(instruction)
        t = self.codec.encode(tgt) + [self.codec.eos_id]
        ids = p + s + i + t
        labels = [IGNORE] * len(p) + s + [IGNORE] * len(i) + t
        return ids, labels

    def prompt(self, task: str, src: str) -> List[int]:
        """The sequence up to the target: what generation continues."""
        prefix, instruction = self.prompts.render(task)
        return [self.codec.bos_id] + self.codec.encode(prefix) + self.codec.encode(src) + self.codec.encode(instruction)


def collate(examples: Sequence[Tuple[List[int], List[int]]], pad_id: int):
    n = max(len(x) for x, _ in examples)
    ids = torch.full((len(examples), n), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), n), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), n), dtype=torch.long)
    for k, (x, y) in enumerate(examples):
        ids[k, : len(x)] = torch.tensor(x)
        labels[k, : len(y)] = torch.tensor(y)
        mask[k, : len(x)] = 1
    return ids, labels, mask


def lm_loss(llm, ids, labels, mask, bf16: bool = False):
    # bf16 autocast on CPU as in the CSST model (model_conf.cpu_bf16); the loss in fp32
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = llm(llm.embed(ids), mask)["logits"][:, :-1].float()
    gold = labels[:, 1:]
    keep = gold != IGNORE
    loss = torch.nn.functional.cross_entropy(logits[keep], gold[keep])
    acc = (logits[keep].argmax(-1) == gold[keep]).float().mean()
    return loss, acc


@torch.no_grad()
def translate(llm, codec: TextCodec, builder: SequenceBuilder, items, batch_size: int,
              bf16: bool = False, max_new_tokens: int = 100) -> List[str]:
    """Greedy continuations of ``(task_spec, source_text)`` items, in their order."""
    llm.eval()
    hyps = []
    for k in range(0, len(items), batch_size):
        prompts = [builder.prompt(spec, src) for spec, src in items[k : k + batch_size]]
        n = max(len(x) for x in prompts)
        ids = torch.full((len(prompts), n), codec.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), n), dtype=torch.long)
        for j, x in enumerate(prompts):  # left padding: generation continues every row at the end
            ids[j, n - len(x):] = torch.tensor(x)
            mask[j, n - len(x):] = 1
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16):
            out = llm.generate(llm.embed(ids), mask, max_new_tokens=max_new_tokens)
        hyps += [codec.decode(h[0]["token_int"]) for h in out]
    llm.train()
    return hyps


def text_bleu(llm, codec: TextCodec, builder: SequenceBuilder, task: str, pairs, batch_size: int,
              bf16: bool = False) -> float:
    """Greedy translation BLEU of held-out text pairs: what the LLM does with a perfect transcript.

    It bounds what the speech model can reach after this pre-training, so the
    log shows it next to the dev loss.
    """
    import sacrebleu

    hyps = translate(llm, codec, builder, [(task, s) for s, _ in pairs], batch_size, bf16)
    return sacrebleu.corpus_bleu(hyps, [[t for _, t in pairs]]).score


def decode_task_dir(llm, codec, builder, data_dir: Path, out_dir: Path, batch_size: int, bf16: bool):
    """Translate a task dir's gold source transcripts (``src_text`` with its ``task`` specs) into
    ``<out_dir>/text``: the text-only ceiling of the speech model on that set."""
    from espnet_csst.data.datadir import read_map

    src, tasks = read_map(data_dir / "src_text"), read_map(data_dir / "task")
    missing = sorted(set(src) - set(tasks))
    if missing:
        raise ValueError(f"{data_dir / 'task'}: no task spec for {len(missing)} utterance(s), e.g. {missing[0]}")
    keys = sorted(src)
    hyps = translate(llm, codec, builder, [(tasks[k], src[k]) for k in keys], batch_size, bf16)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "text", "".join(f"{k} {h}\n" for k, h in zip(keys, hyps)))
    logging.info(f"translated the source transcripts of {data_dir} -> {out_dir / 'text'}")


def build_llm(conf: dict, codec: TextCodec):
    from espnet_csst.tasks.csst import llm_choices

    cls = llm_choices.get_class(conf.get("llm", "hf_causal_lm"))
    llm_conf = dict(conf.get("llm_conf") or {})
    if llm_conf.get("model_name_or_path"):
        raise SystemExit(
            "llm_pretrain builds a fresh LLM; the config names a pretrained one "
            f"({llm_conf['model_name_or_path']}), so skip this stage"
        )
    return cls(vocab_size=codec.vocab_size, pad_id=codec.pad_id, bos_id=codec.bos_id,
               eos_id=codec.eos_id, **llm_conf)


def lr_at(step: int, peak: float, warmup: int, total: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def save_plot(history, path: Path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    bleu_keys = sorted({k for h in history for k in h if k.startswith("dev_bleu_")})
    fig, axes = plt.subplots(1, 2 if bleu_keys else 1, figsize=(11 if bleu_keys else 6, 3.5), squeeze=False)
    ax = axes[0][0]
    steps = [h["step"] for h in history]
    ax.plot(steps, [h["train_loss"] for h in history], label="train loss")
    dev = [(h["step"], h["dev_loss"]) for h in history if "dev_loss" in h]
    if dev:
        ax.plot(*zip(*dev), "o-", label="dev loss")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy")
    ax.set_title("LLM text pre-training")
    ax.legend()
    if bleu_keys:
        ax = axes[0][1]
        for k in bleu_keys:
            ax.plot(*zip(*[(h["step"], h[k]) for h in history if k in h]), "o-", label=k[len("dev_bleu_"):])
        ax.set_xlabel("step")
        ax.set_ylabel("BLEU (greedy, gold source text)")
        ax.set_title("text translation on held-out pairs")
        ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, path)


def get_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="CSST training YAML (llm, llm_conf, prompt_templates)")
    p.add_argument("--token_list", required=True)
    p.add_argument("--bpemodel", required=True)
    p.add_argument("--token_type", default="bpe", choices=["bpe"])
    p.add_argument("--pair", nargs=4, action="append", required=True,
                   metavar=("TASK_SPEC", "SRC_FILE", "TGT_FILE", "WEIGHT"),
                   help="a text task: spec ('st es en'), source lines, target lines, sampling weight")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=40)
    p.add_argument("--n_dev", type=int, default=200, help="held-out sequences per task for the dev loss")
    p.add_argument("--n_dev_bleu", type=int, default=100,
                   help="held-out pairs per translation (st) task decoded greedily for a text BLEU; "
                        "0: no decoding")
    p.add_argument("--dev_bleu_interval", type=int, default=250,
                   help="steps between text-BLEU evaluations (and at the last step); a multiple of "
                        "--log_interval")
    p.add_argument("--decode_dir", type=Path, action="append", default=[],
                   help="after training, translate this task dir's src_text (with its task file) into "
                        "<out>/decode_<name>/text: the ceiling a perfect transcript would give")
    p.add_argument("--log_interval", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv=None):
    parser = get_parser()
    args = parser.parse_args(argv)
    if args.dev_bleu_interval % args.log_interval:
        parser.error(f"--dev_bleu_interval ({args.dev_bleu_interval}) must be a multiple of "
                     f"--log_interval ({args.log_interval})")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    with open(args.config, encoding="utf-8") as f:
        conf = yaml.safe_load(f) or {}
    codec = TextCodec(args.token_type, args.token_list, args.bpemodel)
    prompts = PromptTemplates(conf.get("prompt_templates") or DEFAULT_TEMPLATES)
    builder = SequenceBuilder(codec, prompts)

    tasks, weights, dev, bleu_sets = [], [], [], []
    for spec, src, tgt, weight in args.pair:
        pairs = read_pairs(Path(src), Path(tgt))
        rng.shuffle(pairs)
        held, train = pairs[: args.n_dev], pairs[args.n_dev:]
        if not train:
            raise ValueError(f"{src}: no training lines left after holding out {args.n_dev} for dev")
        tasks.append((spec, train))
        weights.append(float(weight))
        dev += [builder.build(spec, s, t) for s, t in held]
        if spec.split()[0] in ("st", "s2st") and args.n_dev_bleu > 0:
            bleu_sets.append((spec, held[: args.n_dev_bleu]))
        logging.info(f"task '{spec}': {len(train)} train / {len(held)} dev pairs from {src} -> {tgt}, weight {weight}")

    llm = build_llm(conf, codec)
    bf16 = resolve_cpu_bf16((conf.get("model_conf") or {}).get("cpu_bf16", False))
    n_params = sum(p.numel() for p in llm.parameters())
    logging.info(f"LLM: {conf.get('llm_conf', {}).get('arch', 'llama')} with {n_params / 1e6:.2f} M parameters"
                 f"{' (bf16 autocast)' if bf16 else ''}")
    opt = torch.optim.AdamW(llm.parameters(), lr=args.lr, weight_decay=0.01)
    args.out.mkdir(parents=True, exist_ok=True)

    def dev_loss():
        llm.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for k in range(0, len(dev), args.batch_size):
                ids, labels, mask = collate(dev[k : k + args.batch_size], codec.pad_id)
                loss, _ = lm_loss(llm, ids, labels, mask, bf16)
                n = int((labels[:, 1:] != IGNORE).sum())
                total += loss.item() * n
                count += n
        llm.train()
        return total / max(count, 1)

    history = []
    start = time.time()
    llm.train()
    running = []
    for step in range(args.steps):
        batch = []
        for _ in range(args.batch_size):
            spec, pool = rng.choices(tasks, weights=weights)[0]
            s, t = rng.choice(pool)
            batch.append(builder.build(spec, s, t))
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.lr, args.warmup, args.steps)
        loss, acc = lm_loss(llm, *collate(batch, codec.pad_id), bf16=bf16)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(llm.parameters(), 1.0)
        opt.step()
        running.append((loss.item(), acc.item()))
        last = step + 1 == args.steps
        if (step + 1) % args.log_interval == 0 or last:
            tl = sum(x for x, _ in running) / len(running)
            ta = sum(y for _, y in running) / len(running)
            running = []
            entry = {"step": step + 1, "train_loss": round(tl, 4), "train_acc": round(ta, 4),
                     "lr": opt.param_groups[0]["lr"], "elapsed_s": round(time.time() - start, 1)}
            if (step + 1) % (args.log_interval * 4) == 0 or last:
                entry["dev_loss"] = round(dev_loss(), 4)
            if (step + 1) % args.dev_bleu_interval == 0 or last:
                for spec, held in bleu_sets:
                    entry[f"dev_bleu_{spec.replace(' ', '_')}"] = round(
                        text_bleu(llm, codec, builder, spec, held, args.batch_size, bf16), 2)
            history.append(entry)
            eta = (time.time() - start) / (step + 1) * (args.steps - step - 1)
            logging.info(f"step {step + 1}/{args.steps} " + " ".join(f"{k}={v}" for k, v in entry.items()
                                                                     if k != "step") + f" eta={eta:.0f}s")

    tmp = args.out / "llm.pth.tmp"
    torch.save(llm.state_dict(), tmp)
    tmp.replace(args.out / "llm.pth")
    atomic_write_text(args.out / "history.json", json.dumps(history, indent=1) + "\n")
    save_plot(history, args.out / "loss.png")
    for d in args.decode_dir:
        decode_task_dir(llm, codec, builder, d, args.out / f"decode_{d.name}", args.batch_size, bf16)
    bleus = ", ".join(f"{k} {v}" for k, v in history[-1].items() if k.startswith("dev_bleu_"))
    logging.info(f"wrote {args.out / 'llm.pth'} (load with --init_param {args.out / 'llm.pth'}::llm), "
                 f"{args.out / 'loss.png'}; final dev loss {history[-1].get('dev_loss')}"
                 + (f"; text BLEU from gold source (the ceiling for speech): {bleus}" if bleus else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
