"""Benchmark: one training step of the mini recipe's CSST model, fp32 vs bf16 autocast on CPU.

    python bench/bench_cpu_bf16.py [--config egs2/mini_cs/csst1/conf/train_csst.yaml] [--steps 10]

Builds the model of the recipe config (conformer encoder, projector, Llama)
with random weights, and times forward + backward + AdamW step on a batch
shaped like the mini corpus (``--batch_size`` utterances of ``--seconds`` s,
18 target and 35 source tokens), once with ``model_conf.cpu_bf16`` false and
once true, in this one process. Also times a text-only LLM step like the
LLM pre-training stage. Writes a markdown table into bench/RESULTS.md
between the ``cpu_bf16`` markers, with machine, date and command.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import torch
import yaml

from espnet_csst.bin.llm_pretrain import lm_loss
from espnet_csst.models.csst_model import ESPnetCSSTModel, cpu_has_bf16
from espnet_csst.tasks.csst import encoder_choices, frontend_choices, llm_choices, projector_choices
from results_md import machine, write_section

REPO = Path(__file__).resolve().parents[1]


def build(conf: dict, vocab: int, src_vocab: int, bf16: bool) -> ESPnetCSSTModel:
    torch.manual_seed(0)
    frontend = frontend_choices.get_class(conf["frontend"])(**conf["frontend_conf"])
    encoder = encoder_choices.get_class(conf["encoder"])(input_size=frontend.output_size(), **conf["encoder_conf"])
    llm = llm_choices.get_class(conf["llm"])(vocab_size=vocab, pad_id=0, bos_id=vocab - 1, eos_id=vocab - 1,
                                             **conf["llm_conf"])
    projector = projector_choices.get_class(conf["projector"])(
        input_size=encoder.output_size(), output_size=llm.hidden_size(), **conf["projector_conf"])
    model_conf = dict(conf.get("model_conf") or {}, cpu_bf16=bf16)
    return ESPnetCSSTModel(frontend=frontend, specaug=None, normalize=None, encoder=encoder,
                           projector=projector, llm=llm, src_vocab_size=src_vocab, **model_conf)


def ids(b: int, n: int, high: int) -> dict:
    return torch.randint(1, high, (b, n)), torch.full((b,), n)


def time_steps(step, n: int) -> float:
    step()  # warm-up (allocations, kernel selection)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(conf: dict, args, bf16: bool) -> dict:
    vocab = 1000
    model = build(conf, vocab, 150, bf16)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    b = args.batch_size
    speech = 0.1 * torch.randn(b, int(args.seconds * 16000))
    text, text_len = ids(b, 18, vocab - 1)
    src, src_len = ids(b, 35, 150)
    prefix, prefix_len = ids(b, 3, vocab - 1)
    instr, instr_len = ids(b, 8, vocab - 1)
    batch = dict(speech=speech, speech_lengths=torch.full((b,), speech.size(1)), text=text, text_lengths=text_len,
                 prefix=prefix, prefix_lengths=prefix_len, instruction=instr, instruction_lengths=instr_len,
                 src_text=src, src_text_lengths=src_len)
    if conf.get("projector") == "moe":  # the language loss needs each frame's language: half es, half en
        frames = int(args.seconds * 100)
        batch.update(lang_labels=torch.tensor([k % 2 for k in range(b)])[:, None].expand(b, frames).contiguous(),
                     lang_labels_lengths=torch.full((b,), frames))

    def speech_step():
        loss = model(**batch)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()

    lm_ids = torch.randint(1, vocab - 1, (64, 60))
    labels, mask = lm_ids.clone(), torch.ones_like(lm_ids)

    def text_step():
        loss, _ = lm_loss(model.llm, lm_ids, labels, mask, bf16)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return {"speech": time_steps(speech_step, args.steps), "text": time_steps(text_step, args.steps)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=REPO / "egs2/mini_cs/csst1/conf/train_csst.yaml")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch_size", type=int, default=12)
    p.add_argument("--seconds", type=float, default=3.6, help="utterance length (the mini corpus mean)")
    args = p.parse_args(argv)
    conf = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    if not cpu_has_bf16():
        print("note: this CPU has no bf16 units (AVX512-BF16/AMX); bf16 is emulated here", flush=True)
    rows = {}
    for bf16 in (False, True):
        rows[bf16] = measure(conf, args, bf16)
        print(f"bf16={bf16}: {rows[bf16]}", flush=True)
    cmd = "python bench/bench_cpu_bf16.py " + " ".join(sys.argv[1:])
    lines = [
        "## CPU bf16 autocast (`model_conf.cpu_bf16`), one training step of the mini recipe's model",
        "",
        f"- machine: {machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"bf16 units: {'yes' if cpu_has_bf16() else 'no'}",
        f"- date: {datetime.date.today().isoformat()}",
        f"- command: `{cmd}`",
        f"- model: {args.config.relative_to(REPO) if args.config.is_relative_to(REPO) else args.config}; "
        f"speech batch {args.batch_size} x {args.seconds} s; text batch 64 x 60 tokens; median of {args.steps} steps",
        "",
        "| step | fp32 (s) | bf16 autocast (s) | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for key, name in (("speech", "speech training step (encoder + projector + LLM + CTC)"),
                      ("text", "LLM text pre-training step")):
        f32, b16 = rows[False][key], rows[True][key]
        lines.append(f"| {name} | {f32:.3f} | {b16:.3f} | {f32 / b16:.2f}x |")
    print(write_section("cpu_bf16", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
