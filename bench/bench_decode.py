"""Benchmark: decoding speed of the CSST model against ESPnet's st_inference on the peer ST model.

    python bench/bench_decode.py [--n_utts 16] [--tokens 50]

Both models have random weights and the mini recipe's sizes
(``egs2/mini_cs/csst1/conf/train_csst.yaml``, and ``conf/peer_st.yaml`` for
the peer). Every hypothesis is forced to exactly ``--tokens`` output tokens (the
CSST model's EOS is suppressed; the peer's beam search gets ``minlenratio`` /
``maxlenratio`` pinning the length), so both do the same number of decoder
steps. Measured in this one process, on the same ``--n_utts`` utterances
(2.5-4.7 s of noise):

* CSST at batch 1 and batch 16 (``Speech2Text.decode_batch`` path:
  ``model.generate`` -> transformers ``generate``), greedy and beam 4, with the
  KV cache and (greedy, batch 1) without it;
* the peer through ``espnet2.bin.st_inference.Speech2Text`` (batch 1 only, as
  st_inference decodes), greedy and beam 4;
* RSS of one fresh process per decoder (CSST batch 16 beam 4, peer beam 4): after
  loading, and the peak while decoding.

Targets (issue 7): batch 16 >= 4x the utterances per second of batch 1; the KV
cache >= 3x faster than recomputation; CSST real-time factor no worse than the
peer's at (about) equal parameter count. Writes the ``decode`` section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import torch
import yaml

from bench_cpu_bf16 import build
from espnet_csst.models import csst_model
from espnet_csst.models.csst_model import resolve_cpu_bf16
from peer import build_peer, save_peer
from results_md import header, write_section

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "egs2/mini_cs/csst1/conf/train_csst.yaml"
VOCAB, SRC_VOCAB = 1000, 150


def utterances(n: int, seed: int = 0) -> List[np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = np.linspace(2.5, 4.7, n)
    rng.shuffle(lengths)
    return [(0.1 * rng.standard_normal(int(s * 16000))).astype(np.float32) for s in lengths]


#: A wider LLM (104 M parameters) for the KV-cache ratio: at the mini LLM's width (256) a step's
#: compute is so small that per-layer dispatch overhead, not the recomputed positions, dominates.
WIDE_LLM = dict(hidden_size=1024, intermediate_size=2816, num_hidden_layers=8, num_attention_heads=16,
                num_key_value_heads=16)


def build_csst(llm_update=None, bf16=None):
    conf = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    if llm_update:
        conf["llm_conf"]["config"].update(llm_update)
    if bf16 is None:
        bf16 = resolve_cpu_bf16((conf.get("model_conf") or {}).get("cpu_bf16", False))
    return build(conf, VOCAB, SRC_VOCAB, bf16).eval(), bf16


class CSSTDecoder:
    """Batched decoding as ``Speech2Text.decode_batch`` does it, with EOS suppressed."""

    def __init__(self, model, tokens: int):
        from transformers import LogitsProcessorList, SuppressTokensLogitsProcessor

        self.model, self.tokens = model, tokens
        eos = model.llm.eos_id
        self.processors = LogitsProcessorList([SuppressTokensLogitsProcessor([eos])])
        self.prefix = torch.randint(1, VOCAB - 1, (1, 3))
        self.instruction = torch.randint(1, VOCAB - 1, (1, 8))

    @staticmethod
    def collate(wavs: List[np.ndarray]):
        lens = torch.tensor([len(w) for w in wavs])
        speech = torch.zeros(len(wavs), int(lens.max()))
        for k, w in enumerate(wavs):
            speech[k, : len(w)] = torch.from_numpy(w)
        return speech, lens

    @torch.no_grad()
    def __call__(self, wavs: List[np.ndarray], beam: int = 1, use_cache: bool = True) -> List[int]:
        b = len(wavs)
        speech, lens = self.collate(wavs)
        hyps = self.model.generate(
            speech, lens, self.prefix.expand(b, -1), torch.full((b,), 3), self.instruction.expand(b, -1),
            torch.full((b,), 8), max_new_tokens=self.tokens, beam_size=beam, nbest=1, use_cache=use_cache,
            logits_processor=self.processors)
        return [len(h[0]["token_int"]) for h in hyps]


def peer_decoder(work: Path, tokens: int, beam: int):
    from espnet2.bin.st_inference import Speech2Text

    model, args = build_peer(work, VOCAB, SRC_VOCAB)
    config, model_file = save_peer(work, model, args)
    # maxlen = tokens; minlen = tokens - 1: ESPnet appends EOS at the last step, which must count as ended
    s2t = Speech2Text(st_train_config=str(config), st_model_file=str(model_file), beam_size=beam,
                      ctc_weight=0.0, penalty=0.0, nbest=1, maxlenratio=-float(tokens),
                      minlenratio=-float(tokens - 1), device="cpu")
    return s2t, sum(p.numel() for p in model.parameters())


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_batches(decode, wavs, batch: int, **kw) -> float:
    """Wall seconds to decode all ``wavs`` in consecutive batches of ``batch``."""
    def go():
        for k in range(0, len(wavs), batch):
            out = decode(wavs[k : k + batch], **kw)
            assert all(n == decode.tokens for n in out), f"expected {decode.tokens} tokens, got {out}"
    go_short = wavs[: min(batch, len(wavs))]
    decode(go_short, **kw)  # warm-up
    return timed(go)


def child(kind: str, tokens: int, n_utts: int) -> None:
    """One fresh process: build one decoder, reset the peak-RSS counter, decode, print the peaks."""
    wavs = utterances(n_utts)
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "csst":
            model, _ = build_csst()
            dec = CSSTDecoder(model, tokens)

            def decode():
                for k in range(0, len(wavs), 16):
                    dec(wavs[k : k + 16], beam=4)
        else:
            s2t, _ = peer_decoder(Path(tmp), tokens, 4)

            def decode():
                for w in wavs:
                    s2t(w)
        print(json.dumps(peak_rss_during(decode)))


def peak_rss_during(fn) -> dict:
    """``{"loaded_mb": RSS before fn, "peak_mb": peak RSS while fn ran}`` (Linux: VmHWM after clear_refs)."""
    def status(key):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        raise KeyError(key)

    loaded = status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    fn()
    return {"loaded_mb": loaded, "peak_mb": status("VmHWM")}


def peak_rss(kind: str, tokens: int, n_utts: int) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", kind, "--tokens", str(tokens), "--n_utts", str(n_utts)],
                       capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(r.stdout.strip().splitlines()[-1])



def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n_utts", type=int, default=16)
    p.add_argument("--tokens", type=int, default=50, help="output tokens per hypothesis")
    p.add_argument("--child", choices=["csst", "peer"], default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.tokens, args.n_utts)
        return 0
    torch.manual_seed(0)
    wavs = utterances(args.n_utts)
    audio_s = sum(len(w) for w in wavs) / 16000
    model, bf16 = build_csst()
    csst = CSSTDecoder(model, args.tokens)
    csst_params = sum(x.numel() for x in model.parameters())

    rows: Dict[str, float] = {}
    rows["csst greedy b1"] = run_batches(csst, wavs, 1)
    rows["csst greedy b16"] = run_batches(csst, wavs, 16)
    rows["csst greedy b1 no cache"] = run_batches(csst, wavs, 1, use_cache=False)
    rows["csst beam4 b1"] = run_batches(csst, wavs, 1, beam=4)
    rows["csst beam4 b16"] = run_batches(csst, wavs, 16, beam=4)
    # before the profile-driven fix: bf16 autocast for every decoding batch, however small
    threshold = csst_model.BF16_MIN_DECODE_ROWS
    csst_model.BF16_MIN_DECODE_ROWS = 1
    rows["csst greedy b1 bf16 always"] = run_batches(csst, wavs, 1)
    csst_model.BF16_MIN_DECODE_ROWS = threshold
    wide, _ = build_csst(WIDE_LLM, bf16=False)
    wide_params = sum(x.numel() for x in wide.llm.parameters())
    wide_dec, few = CSSTDecoder(wide, args.tokens), wavs[:2]
    rows["wide greedy b1"] = run_batches(wide_dec, few, 1)
    rows["wide greedy b1 no cache"] = run_batches(wide_dec, few, 1, use_cache=False)
    del wide, wide_dec
    with tempfile.TemporaryDirectory() as tmp:
        for beam in (1, 4):
            s2t, peer_params = peer_decoder(Path(tmp) / f"b{beam}", args.tokens, beam)
            s2t(wavs[0])  # warm-up
            rows[f"peer {'greedy' if beam == 1 else 'beam4'} b1"] = timed(lambda: [s2t(w) for w in wavs])
    for k, v in rows.items():
        print(f"{k}: {v:.2f} s", flush=True)
    rss = {kind: peak_rss(kind, args.tokens, args.n_utts) for kind in ("csst", "peer")}
    print(f"peak RSS: {rss}", flush=True)

    def ups(key):
        return args.n_utts / rows[key]

    def rtf(key):
        return rows[key] / audio_s

    lines = [
        *header("## Decoding: CSST (batched, KV cache) against ESPnet st_inference on the peer ST model",
                "bench_decode.py", sys.argv[1:], ", no GPU lent"),
        f"- models (random weights): CSST egs2/mini_cs/csst1/conf/train_csst.yaml ({csst_params / 1e6:.2f} M "
        f"parameters, CPU bf16 autocast {'on from 16 hypotheses per step' if bf16 else 'off'}), peer conf/peer_st.yaml "
        f"({peer_params / 1e6:.2f} M, fp32, ESPnet's beam search); {args.n_utts} utterances of 2.5-4.7 s "
        f"({audio_s:.1f} s of audio); every hypothesis exactly {args.tokens} tokens",
        "",
        "| decoder | batch | search | KV cache | wall (s) | utt/s | RTF |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for key, (dec, batch, search, cache) in {
        "csst greedy b1": ("CSST", 1, "greedy", "yes"), "csst greedy b16": ("CSST", 16, "greedy", "yes"),
        "csst greedy b1 no cache": ("CSST", 1, "greedy", "no"), "csst beam4 b1": ("CSST", 1, "beam 4", "yes"),
        "csst beam4 b16": ("CSST", 16, "beam 4", "yes"), "peer greedy b1": ("peer st_inference", 1, "greedy", "yes"),
        "peer beam4 b1": ("peer st_inference", 1, "beam 4", "yes"),
    }.items():
        lines.append(f"| {dec} | {batch} | {search} | {cache} | {rows[key]:.2f} | {ups(key):.2f} | {rtf(key):.3f} |")
    checks = [
        ("batch 16 / batch 1 utterances per second, greedy", ups("csst greedy b16") / ups("csst greedy b1"), ">= 4x"),
        ("batch 16 / batch 1 utterances per second, beam 4", ups("csst beam4 b16") / ups("csst beam4 b1"), ">= 4x"),
        ("KV cache / recomputation speed, greedy batch 1", rows["csst greedy b1 no cache"] / rows["csst greedy b1"],
         ">= 3x"),
        (f"KV cache / recomputation speed, greedy batch 1, {wide_params / 1e6:.0f} M-parameter LLM (2 utterances)",
         rows["wide greedy b1 no cache"] / rows["wide greedy b1"], ">= 3x"),
        ("fix: decoding autocasts to bf16 only from 16 hypotheses per step; greedy batch 1 speed-up "
         "(before: bf16 always)", rows["csst greedy b1 bf16 always"] / rows["csst greedy b1"], ""),
        ("peer RTF / CSST RTF, greedy batch 1", rtf("peer greedy b1") / rtf("csst greedy b1"), ">= 1x"),
        ("peer RTF / CSST RTF, beam 4 batch 1", rtf("peer beam4 b1") / rtf("csst beam4 b1"), ">= 1x"),
        ("peer RTF (batch 1) / CSST RTF (batch 16), beam 4", rtf("peer beam4 b1") / rtf("csst beam4 b16"), ""),
    ]
    lines += ["", "| ratio | measured | target |", "|---|---:|---:|"]
    lines += [f"| {name} | {value:.2f}x | {target} |" for name, value, target in checks]
    lines += ["", "| memory of a fresh decoding process (RSS, MiB) | model loaded | peak while decoding | "
              "decoding's increase |", "|---|---:|---:|---:|"]
    for kind, name in (("csst", "CSST, batch 16, beam 4"), ("peer", "peer st_inference, batch 1, beam 4")):
        m = rss[kind]
        lines.append(f"| {name} | {m['loaded_mb']:.0f} | {m['peak_mb']:.0f} | {m['peak_mb'] - m['loaded_mb']:.0f} |")
    print(write_section("decode", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
