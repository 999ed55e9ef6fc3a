"""A cache of frozen-frontend frames, shared by every data directory of a recipe.

A frozen pretrained frontend (``whisper_hf``) gives the same frames for an utterance
in every epoch and every training stage, so a recipe computes them once and training
reads them (ESPnet's ``feats_type extracted`` convention: ``feats.scp`` read as
``kaldi_ark``, float16 here to halve the disk and page-cache footprint).

Layout::

    <cache_root>/info.yaml          what the frames depend on (WhisperFrontend.cache_key)
    <cache_root>/index.tsv          <audio> TAB <ark pointer> TAB <frames>,<dim>: one line per recording
    <cache_root>/feats.<n>.ark      the frames, one ark per run (kaldiio, numpy float16 records)
    <data_dir>/feats.scp            utt -> ark pointer, for ESPnet's loader
    <data_dir>/feats_shape          utt -> frames,dim (an ESPnet shape file)
    <data_dir>/feats_info.yaml      the cache's info.yaml, plus where the cache is

The cache is keyed by the audio (the wav.scp entry), not the utterance id: recipes put
one recording in several task directories under different ids (ASR in stage A, ST in
stage B, ``replay-<utt>`` in the transition loss), and it is computed once. Runs are
resumable: the index grows batch by batch after each batch's frames are on disk, and a
data directory's feats.scp is written (atomically) only when all its utterances are in.
A cache made with another checkpoint, layer or padding is refused, never mixed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import yaml

from espnet_csst.utils.fileio import atomic_write_text

INFO = "info.yaml"
INDEX = "index.tsv"
DIR_INFO = "feats_info.yaml"
# the fields of cache_key() that decide the frames; the rest (model path) is informative
COMPARED = ("frontend", "weights_sha256", "layer", "pad_to_window", "output_size")


class FeatureCacheError(ValueError):
    """A cache that does not fit the model, or a data directory without its frames."""


def _differences(have: Dict, want: Dict) -> List[str]:
    return [f"{k}: cache {have.get(k)!r}, model {want.get(k)!r}" for k in COMPARED if have.get(k) != want.get(k)]


def check_info(info_file: Path, key: Dict) -> None:
    """Refuse frames made by another frontend than ``key`` describes."""
    if not info_file.is_file():
        raise FeatureCacheError(
            f"{info_file} is missing: the frames next to it were not made by dump_frontend_feats, "
            "so nothing says which checkpoint and layer made them; recompute them "
            "(csst.sh --stage 6, or python -m espnet_csst.bin.dump_frontend_feats)")
    have = yaml.safe_load(info_file.read_text(encoding="utf-8")) or {}
    diff = _differences(have, key)
    if diff:
        raise FeatureCacheError(
            f"{info_file}: these frames were made by another frontend than the model's "
            f"({'; '.join(diff)}). Delete the cache ({have.get('cache_root', info_file.parent)}) and its "
            "feats.scp files and recompute them (csst.sh --stage 6), or configure the frontend they were made with")


def check_cached_inputs(frontend, data_path_and_name_and_type: Optional[Iterable]) -> int:
    """Check every cached-frame input (``feats.scp`` read as kaldi_ark into ``speech``)
    against the model's frontend; returns how many were checked."""
    n = 0
    for path, name, kind in data_path_and_name_and_type or []:
        if name != "speech" or kind != "kaldi_ark" or not Path(path).exists():
            continue
        if frontend is None or not getattr(frontend, "accepts_cached_frames", False):
            continue  # frames for a model without a cacheable frontend (ESPnet's extracted feats)
        check_info(Path(path).parent / DIR_INFO, frontend.cache_key())
        n += 1
    return n


# ------------------------------------------------------------------ reading audio
def read_wav_scp(data_dir: Path) -> List[Tuple[str, str]]:
    pairs = []
    for lineno, line in enumerate((data_dir / "wav.scp").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise FeatureCacheError(f"{data_dir / 'wav.scp'}:{lineno}: expected '<utt> <audio>', got {line!r}")
        pairs.append((parts[0], parts[1].strip()))
    return pairs


def load_audio(entry: str, utt: str, where: Path) -> np.ndarray:
    from espnet2.fileio.sound_scp import soundfile_read

    try:
        wav, rate = soundfile_read(entry, dtype="float32", always_2d=False)
    except Exception as e:  # noqa: BLE001 - any reader error becomes one message naming the utterance
        raise FeatureCacheError(f"{where}: cannot read the audio of {utt} ({entry}): {e}") from e
    if rate != 16000:
        raise FeatureCacheError(f"{where}: {utt} is {rate} Hz; the frontend reads 16 kHz "
                                "(csst.sh stage 2 converts audio: run it again)")
    if wav.ndim != 1:
        raise FeatureCacheError(f"{where}: {utt} has {wav.shape[1]} channels; convert it to mono (csst.sh stage 2)")
    return wav


# ------------------------------------------------------------------ the cache
class FeatureCache:
    def __init__(self, root: Path, key: Dict):
        self.root = Path(root)
        self.key = dict(key, cache_root=str(self.root))
        self.root.mkdir(parents=True, exist_ok=True)
        info = self.root / INFO
        if info.exists():
            check_info(info, key)
        else:
            atomic_write_text(info, yaml.safe_dump(self.key, sort_keys=False))
        self.index: Dict[str, Tuple[str, str]] = {}  # audio -> (ark pointer, "frames,dim")
        index = self.root / INDEX
        if index.exists():
            text = index.read_text(encoding="utf-8")
            complete, _, cut = text.rpartition("\n")
            if cut:  # a line cut by an interrupted run: drop it (its audio is computed again)
                atomic_write_text(index, complete + "\n" if complete else "")
            for line in complete.split("\n") if complete else []:
                audio, pointer, shape = line.rsplit("\t", 2)
                self.index[audio] = (pointer, shape)

    @contextmanager
    def locked(self):
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _new_ark(self) -> Path:
        n = 0
        while (self.root / f"feats.{n}.ark").exists():
            n += 1
        return self.root / f"feats.{n}.ark"

    def missing(self, data_dirs: Sequence[Path]) -> Dict[str, Tuple[str, Path]]:
        """audio -> (an utterance id that names it, its data dir), for audio not in the cache."""
        todo = {}
        for d in data_dirs:
            for utt, audio in read_wav_scp(d):
                if audio not in self.index and audio not in todo:
                    todo[audio] = (utt, d)
        return todo

    def compute(self, frontend, todo: Dict[str, Tuple[str, Path]], batch_seconds: float = 60.0,
                autocast_dtype: Optional[torch.dtype] = None, progress: bool = True) -> Dict[str, float]:
        """Run the frontend over ``todo`` (longest first, batches of about ``batch_seconds`` of
        audio) and append the frames to a new ark; returns audio seconds and wall seconds."""
        import kaldiio
        from tqdm import tqdm

        if not todo:
            return {"utterances": 0, "audio_s": 0.0, "wall_s": 0.0}
        audio = {a: load_audio(a, utt, d / "wav.scp") for a, (utt, d) in todo.items()}
        order = sorted(audio, key=lambda a: -audio[a].size)
        ark = self._new_ark()
        total_s = sum(w.size for w in audio.values()) / 16000
        start = time.perf_counter()
        bar = tqdm(total=round(total_s), unit="audio-s", disable=not progress, desc=f"frames -> {ark}")
        frontend.eval()
        i = 0
        with open(self.root / INDEX, "a", encoding="utf-8") as index:
            while i < len(order):
                batch = [order[i]]
                # sorted longest first: the batch's padded size is its first utterance's times its count
                while i + len(batch) < len(order) and audio[order[i]].size * (len(batch) + 1) <= batch_seconds * 16000:
                    batch.append(order[i + len(batch)])
                i += len(batch)
                lens = torch.tensor([audio[a].size for a in batch])
                wav = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(audio[a]) for a in batch], batch_first=True)
                with torch.no_grad(), torch.autocast("cpu", dtype=autocast_dtype or torch.bfloat16,
                                                     enabled=autocast_dtype is not None):
                    frames, frame_lens = frontend.frames_to_cache(wav, lens)
                frames = frames.float().numpy().astype(np.float16)
                records = {f"r{len(self.index) + j}": frames[j, : int(frame_lens[j])] for j in range(len(batch))}
                scp = self.root / ".batch.scp"
                scp.unlink(missing_ok=True)  # save_ark appends to the scp as well as to the ark
                kaldiio.save_ark(str(ark), records, scp=str(scp), append=True, write_function="numpy")
                pointers = [line.split(maxsplit=1)[1] for line in scp.read_text().splitlines()]
                # the frames are on disk before the index names them: an interrupted run resumes here
                with open(ark, "rb+") as f:
                    os.fsync(f.fileno())
                for j, (a, pointer) in enumerate(zip(batch, pointers)):
                    shape = f"{int(frame_lens[j])},{frames.shape[-1]}"
                    self.index[a] = (pointer, shape)
                    index.write(f"{a}\t{pointer}\t{shape}\n")
                index.flush()
                bar.update(round(float(lens.sum()) / 16000, 1))
        bar.close()
        (self.root / ".batch.scp").unlink(missing_ok=True)
        wall = time.perf_counter() - start
        return {"utterances": len(order), "audio_s": total_s, "wall_s": wall}

    def write_data_dir(self, data_dir: Path) -> int:
        """feats.scp, feats_shape and feats_info.yaml of a data dir whose audio is all cached."""
        scp, shapes = [], []
        for utt, audio in read_wav_scp(data_dir):
            if audio not in self.index:
                raise FeatureCacheError(f"{data_dir}: {utt} ({audio}) is not in the cache {self.root}; compute it first")
            pointer, shape = self.index[audio]
            scp.append(f"{utt} {pointer}\n")
            shapes.append(f"{utt} {shape}\n")
        atomic_write_text(data_dir / "feats_shape", "".join(shapes))
        atomic_write_text(data_dir / DIR_INFO, yaml.safe_dump(self.key, sort_keys=False))
        atomic_write_text(data_dir / "feats.scp", "".join(scp))
        return len(scp)


def dump_frontend_feats(frontend, cache_root: Path, data_dirs: Sequence[Path], batch_seconds: float = 60.0,
                        autocast_dtype: Optional[torch.dtype] = None, progress: bool = True) -> Dict[str, float]:
    """Make sure every utterance of ``data_dirs`` has frames in the cache; write each dir's feats.scp."""
    data_dirs = [Path(d) for d in data_dirs]
    cache = FeatureCache(cache_root, frontend.cache_key())
    with cache.locked():
        todo = cache.missing(data_dirs)
        reused = sum(len(read_wav_scp(d)) for d in data_dirs)
        logging.info(f"{cache.root}: {len(cache.index)} recordings cached, {len(todo)} to compute "
                     f"for {len(data_dirs)} data dir(s)")
        stats = cache.compute(frontend, todo, batch_seconds, autocast_dtype, progress)
        for d in data_dirs:
            n = cache.write_data_dir(d)
            logging.info(f"{d}/feats.scp: {n} utterances")
    stats["data_dir_utterances"] = reused
    return stats
