"""Benchmark: the mini recipe's default model on cached Whisper base frames against ESPnet's ST on the same frames.

    python bench/bench_whisper.py [--steps 8] [--n_utts 16] [--tokens 50]

Since issue 20 the mini recipe trains ``conf/tuning/train_csst_whisper.yaml``: frozen
Whisper base frames, computed once by csst.sh stage 6, -> a 2-block conformer adapter with
a CTC head over the LLM's vocabulary whose greedy segments are the speech tokens -> the
MoE projector -> the mini LLM. Its peer is ESPnet's ST on the same frames
(``conf/peer_st_whisper.yaml``). Both have random weights (Whisper base's architecture,
d_model 512, 6 blocks). A random CTC head emits a token on almost every frame, which a
trained one does not: its blank bias is set so that the greedy path gives
``--tokens_per_second`` segments per second of speech, as many as the source transcript
has LLM tokens (5.35 per second on the mini corpus's stage-A dev set; 5.1-5.7 on its
test and dev sets).

Three measurements, in this one process:

* the frame cache (stage 6): Whisper base's encoder on the ``--n_utts`` waveforms
  (2.5-4.7 s) at batch 1, at the audio's length and padded to Whisper's 30 s window;
* a training step (forward + backward + AdamW, batch ``--batch_size`` x ``--seconds`` s
  of frames), the two models taking turns; peak RSS in a fresh process per model;
* decoding ``--tokens`` tokens per hypothesis (EOS suppressed; the peer's length pinned)
  from frames: CSST greedy / beam 4 at batch 1 and 16, the peer through ESPnet's
  st_inference (batch 1, as it decodes).

Writes the ``whisper`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import yaml

from bench_cpu_bf16 import build
from bench_decode import CSSTDecoder, peak_rss_during, run_batches, timed, utterances
from bench_moe import make_batch, step_fn
from espnet_csst.models.csst_model import resolve_cpu_bf16
from espnet_csst.projectors.ctc_compress import ctc_segments
from peer import PEER_FRAMES_CONFIG, build_peer, save_peer
from results_md import header, write_section

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "egs2/mini_cs/csst1/conf/tuning/train_csst_whisper.yaml"
VOCAB = 1000
#: OpenAI Whisper base's encoder (the packaged checkpoint's config.json)
WHISPER_BASE = dict(d_model=512, encoder_layers=6, encoder_attention_heads=8, encoder_ffn_dim=2048,
                    decoder_layers=6, decoder_attention_heads=8, decoder_ffn_dim=2048, num_mel_bins=80,
                    max_source_positions=1500, vocab_size=51865)
FPS = 50  # Whisper frames per second


def build_csst(bf16=None):
    conf = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    conf["frontend_conf"] = {"config": WHISPER_BASE, "layer": conf["frontend_conf"].get("layer", -1)}
    if bf16 is None:
        bf16 = resolve_cpu_bf16((conf.get("model_conf") or {}).get("cpu_bf16", False))
    # src_vocab 0: the CTC head predicts the LLM's own tokens (csst.sh --src_vocab_size 0)
    return build(conf, VOCAB, 0, bf16), bf16


def frames_of(seconds: List[float], seed: int = 0) -> List[torch.Tensor]:
    """Stand-ins for cached frames: Whisper's output is layer-normed, about unit scale."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(int(s * FPS), WHISPER_BASE["d_model"], generator=gen) for s in seconds]


def pad(frames: List[torch.Tensor]):
    lens = torch.tensor([f.size(0) for f in frames])
    out = torch.zeros(len(frames), int(lens.max()), frames[0].size(1))
    for k, f in enumerate(frames):
        out[k, : f.size(0)] = f
    return out, lens


@torch.no_grad()
def segments_per_utterance(model, frames: List[torch.Tensor]) -> float:
    x, lens = pad(frames)
    enc, enc_lens = model.encode(x, lens)
    probs = model.ctc.ctc_lo(enc).float().softmax(-1)
    return float(ctc_segments(enc, enc_lens, probs).lengths.float().mean())


def calibrate_blank(model, frames: List[torch.Tensor], per_second: float) -> float:
    """Set the CTC head's blank bias so that the greedy path gives ``per_second`` segments per second."""
    target = per_second * sum(f.size(0) for f in frames) / FPS / len(frames)
    bias = model.ctc.ctc_lo.bias
    was = model.training
    model.eval()
    with torch.no_grad():
        # a fresh head's random label biases pick the same label on most frames, and a run of
        # one label is one segment: the frames alone must decide the label, and clearly
        bias[1:] = 0.0
        model.ctc.ctc_lo.weight.mul_(4.0)
    lo, hi = -10.0, 30.0
    for _ in range(30):  # bisection: more blank bias, fewer segments
        mid = (lo + hi) / 2
        with torch.no_grad():
            bias[0] = mid
        if segments_per_utterance(model, frames) > target:
            lo = mid
        else:
            hi = mid
    # measured in eval mode, as calibrated: in train mode dropout changes the frames' labels
    got = segments_per_utterance(model, frames) / (target / per_second)
    model.train(was)
    if abs(got - per_second) > 0.1 * per_second:
        raise RuntimeError(f"calibrate_blank: {got:.2f} segments per second instead of {per_second}: "
                           "the stand-in frames give too few label changes")
    return got


class FramesDecoder(CSSTDecoder):
    """``CSSTDecoder`` on (T, D) cached frames instead of waveforms."""

    collate = staticmethod(lambda frames: pad(frames))


def peer_frames_decoder(work: Path, tokens: int, beam: int):
    from espnet2.bin.st_inference import Speech2Text

    model, args = build_peer(work, VOCAB, VOCAB, config=PEER_FRAMES_CONFIG)
    config, model_file = save_peer(work, model, args)
    s2t = Speech2Text(st_train_config=str(config), st_model_file=str(model_file), beam_size=beam,
                      ctc_weight=0.0, penalty=0.0, nbest=1, maxlenratio=-float(tokens),
                      minlenratio=-float(tokens - 1), device="cpu")
    return s2t, sum(p.numel() for p in model.parameters())


def training_batch(batch_size: int, seconds: float) -> dict:
    batch = make_batch(batch_size, seconds, VOCAB)  # token ids, language labels (100 per second)
    x, lens = pad(frames_of([seconds] * batch_size, seed=1))
    batch.update(speech=x, speech_lengths=lens)
    return batch


CSST_KEYS = ("speech", "speech_lengths", "text", "text_lengths", "prefix", "prefix_lengths", "instruction",
             "instruction_lengths", "src_text", "src_text_lengths", "lang_labels", "lang_labels_lengths")
PEER_KEYS = ("speech", "speech_lengths", "text", "text_lengths", "src_text", "src_text_lengths")


def build_trainable(name: str, work: Path, batch: dict, per_second: float):
    if name == "peer":
        model, _ = build_peer(work, VOCAB, VOCAB, config=PEER_FRAMES_CONFIG)
        return model.train(), PEER_KEYS
    model, _ = build_csst()
    frames = [batch["speech"][k] for k in range(batch["speech"].size(0))]
    calibrate_blank(model, frames, per_second)
    return model.train(), CSST_KEYS


def child(name: str, args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        batch = training_batch(args.batch_size, args.seconds)
        model, keys = build_trainable(name, Path(tmp), batch, args.tokens_per_second)
        step = step_fn(model, {k: batch[k] for k in keys})

        def three_steps():
            for _ in range(3):
                step()
        print(json.dumps(peak_rss_during(three_steps)))


def memory(name: str, args) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", name, "--batch_size", str(args.batch_size),
                        "--seconds", str(args.seconds), "--tokens_per_second", str(args.tokens_per_second)],
                       capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(r.stdout.strip().splitlines()[-1])


def trainable_params(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def bench_frame_cache(wavs: List[np.ndarray]) -> Dict[str, float]:
    from espnet_csst.frontends.whisper import WhisperFrontend

    out = {}
    for padded in (False, True):
        torch.manual_seed(0)
        fe = WhisperFrontend(config=WHISPER_BASE, pad_to_window=padded).eval()

        def run():
            with torch.no_grad():
                for w in wavs:
                    fe(torch.from_numpy(w)[None], torch.tensor([len(w)]))
        fe(torch.from_numpy(wavs[0])[None], torch.tensor([len(wavs[0])]))  # warm-up
        out["padded" if padded else "unpadded"] = timed(run)
    return out


def bench_training(args) -> dict:
    batch = training_batch(args.batch_size, args.seconds)
    models, steps, times, restore = {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("csst", "peer"):
            model, keys = build_trainable(name, Path(tmp) / name, batch, args.tokens_per_second)
            models[name] = model
            # every timed step starts from the built (calibrated) weights: a few updates move the
            # CTC head's greedy segments, the CSST model's speech tokens, and with them a step's cost
            start = {k: v.detach().clone() for k, v in model.state_dict().items()}
            restore[name] = lambda m=model, s=start: m.load_state_dict(s)
            steps[name] = step_fn(model, {k: batch[k] for k in keys})
            steps[name]()  # warm-up
            times[name] = []
    for _ in range(args.steps):
        for name in steps:
            restore[name]()
            times[name].append(timed(steps[name]))
    restore["csst"]()
    seg = segments_per_utterance(models["csst"].eval(), [batch["speech"][k] for k in range(args.batch_size)])
    return {"median": {n: statistics.median(t) for n, t in times.items()},
            "params": {n: sum(p.numel() for p in m.parameters()) for n, m in models.items()},
            "trainable": {n: trainable_params(m) for n, m in models.items()}, "segments": seg}


def bench_decoding(args, frames: List[torch.Tensor]) -> dict:
    model, bf16 = build_csst()
    tokens_per_s = calibrate_blank(model, frames, args.tokens_per_second)
    model.eval()
    dec = FramesDecoder(model, args.tokens)
    rows = {
        "csst greedy b1": run_batches(dec, frames, 1),
        "csst greedy b16": run_batches(dec, frames, 16),
        "csst beam4 b1": run_batches(dec, frames, 1, beam=4),
        "csst beam4 b16": run_batches(dec, frames, 16, beam=4),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for beam in (1, 4):
            s2t, peer_params = peer_frames_decoder(Path(tmp) / f"b{beam}", args.tokens, beam)
            s2t(frames[0].numpy())  # warm-up
            rows[f"peer {'greedy' if beam == 1 else 'beam4'} b1"] = timed(lambda: [s2t(f.numpy()) for f in frames])
    return {"rows": rows, "bf16": bf16, "tokens_per_s": tokens_per_s, "peer_params": peer_params}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch_size", type=int, default=12)
    p.add_argument("--seconds", type=float, default=3.6, help="utterance length (the mini corpus mean)")
    p.add_argument("--n_utts", type=int, default=16)
    p.add_argument("--tokens", type=int, default=50, help="output tokens per decoded hypothesis")
    p.add_argument("--tokens_per_second", type=float, default=5.35,
                   help="CTC segments per second of speech the calibrated CTC head gives (default: the LLM "
                        "tokens per second of the mini corpus's stage-A dev transcripts, dump/raw/stageA_valid)")
    p.add_argument("--child", choices=["csst", "peer"], default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args)
        return 0
    torch.manual_seed(0)
    wavs = utterances(args.n_utts)
    seconds = [len(w) / 16000 for w in wavs]
    audio_s = sum(seconds)
    cache = bench_frame_cache(wavs)
    print(f"frame cache: {cache}", flush=True)
    train = bench_training(args)
    print(f"training: {train}", flush=True)
    mem = {name: memory(name, args) for name in ("csst", "peer")}
    print(f"memory: {mem}", flush=True)
    decode = bench_decoding(args, frames_of(seconds))
    rows = decode["rows"]
    for k, v in rows.items():
        print(f"{k}: {v:.2f} s", flush=True)

    train_audio = args.batch_size * args.seconds
    med = train["median"]
    lines = [
        *header("## The mini recipe's default: CSST on cached Whisper base frames against ESPnet's ST on the same "
                "frames", "bench_whisper.py", sys.argv[1:], ", no GPU lent"),
        "- models (random weights, Whisper base's architecture): CSST egs2/mini_cs/csst1/conf/tuning/"
        f"train_csst_whisper.yaml (CPU bf16 autocast {'on' if decode['bf16'] else 'off'}), peer "
        "conf/peer_st_whisper.yaml (fp32, as ESPnet trains on CPU); the CSST model's random CTC head has its "
        f"blank bias set to give {args.tokens_per_second} speech tokens per second, the source transcripts' "
        "LLM tokens per second of speech on the mini corpus (measured "
        f"{train['segments'] / args.seconds:.2f} on the training batch, {decode['tokens_per_s']:.2f} on the "
        "decoding utterances)",
        f"- {args.n_utts} utterances of 2.5-4.7 s ({audio_s:.1f} s of audio) for the frame cache and decoding; "
        f"every hypothesis exactly {args.tokens} tokens",
        "",
        "| frame cache (csst.sh stage 6): Whisper base encoder, batch 1 | wall (s) | RTF | x real time |",
        "|---|---:|---:|---:|",
    ]
    for key, desc in (("unpadded", "at the audio's length (`pad_to_window: false`, the default)"),
                      ("padded", "padded to the 30 s window (`pad_to_window: true`)")):
        lines.append(f"| {desc} | {cache[key]:.2f} | {cache[key] / audio_s:.3f} | {audio_s / cache[key]:.1f} |")
    lines += [
        "",
        f"| training step on frames, batch {args.batch_size} x {args.seconds} s ({train_audio:.1f} s of audio), "
        f"median of {args.steps} in turns, each from the built weights | parameters (trainable) | step (s) | audio s / wall s | "
        "RSS loaded (MiB) | peak RSS training (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, desc in (("csst", "CSST (adapter + CTC + MoE projector + LLM)"),
                       ("peer", "peer: ESPnet ST (conformer adapter + transformer decoder)")):
        lines.append(f"| {desc} | {train['params'][name] / 1e6:.2f} M ({train['trainable'][name] / 1e6:.2f} M) | "
                     f"{med[name]:.3f} | {train_audio / med[name]:.1f} | {mem[name]['loaded_mb']:.0f} | "
                     f"{mem[name]['peak_mb']:.0f} |")
    lines += ["", "| decoding from frames | batch | search | wall (s) | utt/s | RTF |", "|---|---:|---|---:|---:|---:|"]
    for key, (dec, batch, search) in {
        "csst greedy b1": ("CSST", 1, "greedy"), "csst greedy b16": ("CSST", 16, "greedy"),
        "csst beam4 b1": ("CSST", 1, "beam 4"), "csst beam4 b16": ("CSST", 16, "beam 4"),
        "peer greedy b1": ("peer st_inference", 1, "greedy"), "peer beam4 b1": ("peer st_inference", 1, "beam 4"),
    }.items():
        lines.append(f"| {dec} | {batch} | {search} | {rows[key]:.2f} | {args.n_utts / rows[key]:.2f} | "
                     f"{rows[key] / audio_s:.3f} |")
    lines += [
        "", "| ratio | measured |", "|---|---:|",
        f"| frame cache: padded / unpadded wall | {cache['padded'] / cache['unpadded']:.2f}x |",
        f"| training step: CSST / peer | {med['csst'] / med['peer']:.2f}x |",
        f"| decoding, greedy batch 1: peer wall / CSST wall | {rows['peer greedy b1'] / rows['csst greedy b1']:.2f}x |",
        f"| decoding, beam 4 batch 1: peer wall / CSST wall | {rows['peer beam4 b1'] / rows['csst beam4 b1']:.2f}x |",
        f"| decoding, beam 4: peer batch 1 wall / CSST batch 16 wall | "
        f"{rows['peer beam4 b1'] / rows['csst beam4 b16']:.2f}x |",
    ]
    print(write_section("whisper", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
