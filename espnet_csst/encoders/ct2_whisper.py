"""Turn a CTranslate2 (faster-whisper) Whisper checkpoint back into a transformers Whisper directory.

A CTranslate2 model directory holds ``model.bin`` (the weights), ``config.json``
(suppressed tokens, language ids, alignment heads), ``tokenizer.json`` and
usually ``vocabulary.json`` (or ``vocabulary.txt``) and
``preprocessor_config.json``. This module reads ``model.bin`` itself (no
ctranslate2 import) and writes what ``WhisperForConditionalGeneration``,
``WhisperProcessor`` and ``model.generate`` load offline.

model.bin (written by ModelSpec._serialize in CTranslate2's
python/ctranslate2/specs/model_spec.py, read by Model::load in
src/models/model.cc); little-endian, a *string* is a u16 length counting a
trailing NUL, the bytes, the NUL::

    u32 binary version                      (4..6 here; 4 introduced dtype ids)
    string spec name, u32 spec revision     ("WhisperSpec", 3)
    u32 number of variables, then for each:
        string name, u8 rank, u32 dims[rank], u8 dtype id, u32 byte count, bytes
    u32 number of aliases, then for each: string alias, string target

dtype ids follow CTranslate2's DataType enum: 0 float32, 1 int8, 2 int16,
3 int32, 4 float16, 5 bfloat16. Rank-0 variables are attributes the runtime
reads to configure layers (num_heads, pre_norm, activation, ...). The converter
stores a variable once and aliases any other with the same value (the tied
output projection, and in a freshly initialised model every zero bias).

Variable mapping (``e/L`` = ``encoder/layer_L``, ``d/L`` = ``decoder/layer_L``,
``E``/``D`` = ``model.encoder``/``model.decoder``)::

    encoder/conv{1,2}/{weight,bias}            E.conv{1,2}
    encoder/position_encodings/encodings       E.embed_positions.weight   (Whisper's fixed sinusoids)
    e/L/self_attention/linear_0 [3d, d]        E.layers.L.self_attn.{q,k,v}_proj (fused, in that order)
    e/L/self_attention/linear_1                E.layers.L.self_attn.out_proj
    e/L/self_attention/layer_norm/{gamma,beta} E.layers.L.self_attn_layer_norm.{weight,bias}
    e/L/ffn/linear_{0,1}, e/L/ffn/layer_norm   E.layers.L.fc{1,2}, E.layers.L.final_layer_norm
    encoder/layer_norm                         E.layer_norm
    decoder/embeddings/weight                  D.embed_tokens.weight
    decoder/position_encodings/encodings       D.embed_positions.weight   (learned)
    d/L/self_attention/...                     D.layers.L.self_attn..., self_attn_layer_norm
    d/L/attention/linear_0                     D.layers.L.encoder_attn.q_proj
    d/L/attention/linear_1 [2d, d]             D.layers.L.encoder_attn.{k,v}_proj (fused)
    d/L/attention/linear_2                     D.layers.L.encoder_attn.out_proj
    d/L/attention/layer_norm                   D.layers.L.encoder_attn_layer_norm
    d/L/ffn/...                                D.layers.L.fc{1,2}, final_layer_norm
    decoder/layer_norm                         D.layer_norm
    decoder/projection/weight                  proj_out.weight (tied to the embeddings when equal)

Whisper's k_proj has no bias: the converter fills the k third of a fused bias
with zeros. Every other variable must be used and every transformers parameter
filled, or the import fails naming it. Quantised checkpoints (int8, int16) are
refused: their weights cannot be recovered exactly.
"""

from __future__ import annotations

import json
import logging
import math
import mmap
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import numpy as np
import torch

from espnet_csst.utils.fileio import replace_dir

PathLike = Union[str, Path]

SUPPORTED_BINARY_VERSIONS = range(4, 7)
KNOWN_SPEC_REVISION = 3
# CTranslate2's DataType enum (include/ctranslate2/types.h); bfloat16 is read as its raw 16 bits
CT2_DTYPES = {0: ("float32", np.float32), 1: ("int8", np.int8), 2: ("int16", np.int16),
              3: ("int32", np.int32), 4: ("float16", np.float16), 5: ("bfloat16", np.int16)}
FLOAT_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
CONVERT_HINT = ("convert the original transformers model again with "
                "`ct2-transformers-converter --model <model> --output_dir <dir> --copy_files tokenizer.json "
                "preprocessor_config.json --quantization float16` (or float32)")
GELU = 3  # CTranslate2's Activation enum: 3 is the exact (erf) GELU, transformers' "gelu"
HOP_LENGTH, SAMPLING_RATE = 160, 16000  # Whisper's log-mel frame rate: 100 frames a second


class CT2FormatError(ValueError):
    """model.bin, or a file next to it, cannot be turned into a transformers Whisper."""


class QuantizedCheckpointError(CT2FormatError):
    """The checkpoint holds int8/int16 weights, whose float values are lost."""


class CT2Checkpoint(NamedTuple):
    spec_name: str
    revision: int
    variables: Dict[str, torch.Tensor]
    aliases: Dict[str, str]


# ------------------------------------------------------------------------------------ model.bin
class _BinaryReader:
    """Sequential little-endian reads from a mapped file; running off its end names the file."""

    def __init__(self, buf, path: Path):
        self.buf, self.path, self.pos = buf, path, 0

    def take(self, n: int, what: str) -> int:
        if self.pos + n > len(self.buf):
            raise CT2FormatError(f"{self.path} is truncated: {what} needs {n} bytes at offset {self.pos} but the "
                                 f"file has {len(self.buf)} bytes (an interrupted copy, or parts concatenated "
                                 f"in the wrong order?)")
        start, self.pos = self.pos, self.pos + n
        return start

    def unpack(self, fmt: str, what: str):
        size = struct.calcsize("<" + fmt)
        return struct.unpack_from("<" + fmt, self.buf, self.take(size, what))[0]

    def string(self, what: str) -> str:
        n = self.unpack("H", what)
        raw = bytes(self.buf[self.take(n, what): self.pos])
        if not raw.endswith(b"\0"):
            raise CT2FormatError(f"{self.path}: {what} at offset {self.pos - n} is not NUL-terminated; "
                                 f"not a CTranslate2 model.bin")
        return raw[:-1].decode("utf-8")

    def tensor(self, name: str) -> torch.Tensor:
        rank = self.unpack("B", f"the rank of {name}")
        shape = [self.unpack("I", f"the shape of {name}") for _ in range(rank)]
        type_id = self.unpack("B", f"the dtype of {name}")
        if type_id not in CT2_DTYPES:
            raise CT2FormatError(f"{self.path}: variable {name} has unknown dtype id {type_id}")
        dtype_name, np_dtype = CT2_DTYPES[type_id]
        n_bytes = self.unpack("I", f"the size of {name}")
        count = math.prod(shape)
        if n_bytes != count * np.dtype(np_dtype).itemsize:
            raise CT2FormatError(f"{self.path}: variable {name} {dtype_name}{shape} should take "
                                 f"{count * np.dtype(np_dtype).itemsize} bytes, the file says {n_bytes}")
        start = self.take(n_bytes, f"the data of {name}")
        # copy out of the mapping so no tensor keeps the file open
        array = np.frombuffer(self.buf, dtype=np_dtype, count=count, offset=start).copy().reshape(shape)
        t = torch.from_numpy(array)
        return t.view(torch.bfloat16) if dtype_name == "bfloat16" else t


def read_ct2_model(path: PathLike) -> CT2Checkpoint:
    """Variables and aliases of a CTranslate2 model.bin (or of the directory holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; a CTranslate2 model directory holds model.bin")
    if path.stat().st_size == 0:
        raise CT2FormatError(f"{path} is empty")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        reader = _BinaryReader(buf, path)
        version = reader.unpack("I", "the binary version")
        if version not in SUPPORTED_BINARY_VERSIONS:
            raise CT2FormatError(f"{path}: binary version {version}; this reader knows versions "
                                 f"{SUPPORTED_BINARY_VERSIONS.start}..{SUPPORTED_BINARY_VERSIONS.stop - 1}; "
                                 f"{CONVERT_HINT}")
        spec_name = reader.string("the spec name")
        revision = reader.unpack("I", "the spec revision")
        variables = {}
        for _ in range(reader.unpack("I", "the number of variables")):
            name = reader.string("a variable name")
            variables[name] = reader.tensor(name)
        aliases = {}
        for _ in range(reader.unpack("I", "the number of aliases")):
            alias = reader.string("an alias name")
            aliases[alias] = reader.string(f"the target of alias {alias}")
        if reader.pos != len(buf):
            raise CT2FormatError(f"{path} has {len(buf) - reader.pos} bytes after its last alias "
                                 f"(parts concatenated twice, or two files glued together?)")
    logging.debug(f"{path}: binary version {version}, {spec_name} revision {revision}")
    return CT2Checkpoint(spec_name, revision, variables, aliases)


def resolve_aliases(variables: Dict[str, torch.Tensor], aliases: Dict[str, str]) -> Dict[str, torch.Tensor]:
    """Every name, aliases included, to its tensor (an alias may point at another alias)."""
    named = dict(variables)
    pending = dict(aliases)
    while pending:
        resolved = {a: t for a, t in pending.items() if t in named}
        if not resolved:
            alias, target = next(iter(pending.items()))
            raise CT2FormatError(f"alias {alias} points at {target}, which is not a variable")
        for alias, target in resolved.items():
            named[alias] = named[target]
            del pending[alias]
    return named


# ------------------------------------------------------------------------------------ weights
def refuse_quantized(named: Dict[str, torch.Tensor]) -> None:
    """Refuse integer weights: int8/int16 quantisation rounded the floats away for good."""
    quantized = {n: t for n, t in named.items()
                 if (t.dim() > 0 and not t.is_floating_point()) or n.endswith("_scale")}
    if quantized:
        name = sorted(quantized)[0]
        raise QuantizedCheckpointError(
            f"variable {name} is {str(quantized[name].dtype).replace('torch.', '')} "
            f"({len(quantized)} quantised variables): a quantised CTranslate2 checkpoint cannot be turned "
            f"back into the original weights exactly; {CONVERT_HINT}")


class _Variables:
    """The checkpoint's variables; each mapped one is taken, so leftovers show what was not mapped."""

    def __init__(self, named: Dict[str, torch.Tensor]):
        self.left = dict(named)

    def has(self, name: str) -> bool:
        return name in self.left

    def take(self, name: str) -> torch.Tensor:
        if name not in self.left:
            raise CT2FormatError(f"no variable {name}, which transformers' Whisper needs; "
                                 f"is this a Whisper checkpoint? {CONVERT_HINT}")
        return self.left.pop(name)

    def attribute(self, name: str):
        return self.take(name).item()


@dataclass
class WhisperDims:
    n_mels: int
    d_model: int
    vocab_size: int
    encoder_layers: int
    decoder_layers: int
    encoder_heads: int
    decoder_heads: int
    encoder_ffn_dim: int
    decoder_ffn_dim: int
    max_source_positions: int
    max_target_positions: int
    tied_projection: bool = True


def count_layers(named: Dict[str, torch.Tensor], stack: str) -> int:
    indices = {int(m.group(1)) for n in named if (m := re.match(rf"{stack}/layer_(\d+)/", n))}
    if indices != set(range(len(indices))):
        raise CT2FormatError(f"{stack} layers {sorted(indices)} are not numbered 0..n-1")
    if not indices:
        raise CT2FormatError(f"no {stack}/layer_0 variables; not a Whisper checkpoint")
    return len(indices)


def infer_dims(named: Dict[str, torch.Tensor]) -> WhisperDims:
    """Sizes of the network, read off the shapes (and head counts) of its variables."""
    def shape(name):
        if name not in named:
            raise CT2FormatError(f"no variable {name}; not a Whisper checkpoint")
        return tuple(named[name].shape)

    d_model, n_mels, _ = shape("encoder/conv1/weight")
    return WhisperDims(
        n_mels=n_mels, d_model=d_model,
        vocab_size=shape("decoder/embeddings/weight")[0],
        encoder_layers=count_layers(named, "encoder"), decoder_layers=count_layers(named, "decoder"),
        encoder_heads=int(named["encoder/num_heads"].item()) if "encoder/num_heads" in named else 0,
        decoder_heads=int(named["decoder/num_heads"].item()) if "decoder/num_heads" in named else 0,
        encoder_ffn_dim=shape("encoder/layer_0/ffn/linear_0/weight")[0],
        decoder_ffn_dim=shape("decoder/layer_0/ffn/linear_0/weight")[0],
        max_source_positions=shape("encoder/position_encodings/encodings")[0],
        max_target_positions=shape("decoder/position_encodings/encodings")[0],
    )


def check_attributes(v: _Variables, dims: WhisperDims) -> None:
    """Take the runtime's layer switches; each must describe transformers' Whisper."""
    for stack, heads in (("encoder", dims.encoder_heads), ("decoder", dims.decoder_heads)):
        v.take(f"{stack}/num_heads")
        if heads <= 0 or dims.d_model % heads:
            raise CT2FormatError(f"{stack}/num_heads = {heads} does not divide d_model {dims.d_model}")

    def require(name, ok, meaning):
        value = v.attribute(name)
        if not ok(value):
            raise CT2FormatError(f"{name} = {value}, but transformers' Whisper has {meaning}")

    require("decoder/pre_norm", lambda x: x == 1, "pre-norm layers (pre_norm = 1)")
    require("decoder/activation", lambda x: x == GELU, f"the exact GELU (activation = {GELU})")
    # optional: older converters did not write them, and the runtime's defaults agree with Whisper
    if v.has("decoder/alibi"):
        require("decoder/alibi", lambda x: x == 0, "learned positions, not ALiBi (alibi = 0)")
    if v.has("decoder/start_from_zero_embedding"):
        require("decoder/start_from_zero_embedding", lambda x: x == 0, "no zero start embedding")
    if v.has("decoder/scale_embeddings"):
        # a bool True means "multiply by sqrt(d_model)", a float is the factor itself
        scale = v.left["decoder/scale_embeddings"]
        unscaled = (lambda x: x == 1.0) if scale.is_floating_point() else (lambda x: x == 0)
        require("decoder/scale_embeddings", unscaled, "unscaled token embeddings")
    # these only matter with ALiBi on (checked off above), or for the alignments of CTranslate2's
    # translation models; Whisper's alignment heads are in config.json
    for name in ("decoder/alibi_use_positive_positions", "decoder/scale_alibi",
                 "decoder/alignment_layer", "decoder/alignment_heads"):
        if v.has(name):
            v.take(name)


def linear(v: _Variables, ct2: str, hf: str) -> Dict[str, torch.Tensor]:
    return {f"{hf}.weight": v.take(f"{ct2}/weight"), f"{hf}.bias": v.take(f"{ct2}/bias")}


def layer_norm(v: _Variables, ct2: str, hf: str) -> Dict[str, torch.Tensor]:
    return {f"{hf}.weight": v.take(f"{ct2}/gamma"), f"{hf}.bias": v.take(f"{ct2}/beta")}


def drop_key_bias(bias: torch.Tensor, name: str) -> None:
    if bias.any():
        # q.(k + b) = q.k + q.b adds one constant to all of a query's scores: softmax ignores it
        logging.warning(f"{name}: the key third of the fused bias is not zero (max |b| "
                        f"{bias.abs().max().item():.3g}); transformers' Whisper has no k_proj bias, so it is "
                        f"dropped, which changes no attention weight")


def split_fused(v: _Variables, ct2: str, hf: str, projections: List[str], d_model: int) -> Dict[str, torch.Tensor]:
    """A fused [n*d, d] projection back into its n separate ones (CTranslate2 stacks them in order)."""
    weight, bias = v.take(f"{ct2}/weight"), v.take(f"{ct2}/bias")
    n = len(projections)
    if tuple(weight.shape) != (n * d_model, d_model) or tuple(bias.shape) != (n * d_model,):
        raise CT2FormatError(f"{ct2} is {list(weight.shape)} + bias {list(bias.shape)}, expected the "
                             f"fused {'/'.join(projections)} of shape [{n * d_model}, {d_model}]")
    out = {}
    for proj, w, b in zip(projections, weight.split(d_model), bias.split(d_model)):
        out[f"{hf}.{proj}.weight"] = w.clone()
        if proj == "k_proj":
            drop_key_bias(b, f"{ct2}/bias")
        else:
            out[f"{hf}.{proj}.bias"] = b.clone()
    return out


def encoder_layer(v: _Variables, i: int, d_model: int) -> Dict[str, torch.Tensor]:
    c, h = f"encoder/layer_{i}", f"model.encoder.layers.{i}"
    return {
        **split_fused(v, f"{c}/self_attention/linear_0", f"{h}.self_attn", ["q_proj", "k_proj", "v_proj"], d_model),
        **linear(v, f"{c}/self_attention/linear_1", f"{h}.self_attn.out_proj"),
        **layer_norm(v, f"{c}/self_attention/layer_norm", f"{h}.self_attn_layer_norm"),
        **linear(v, f"{c}/ffn/linear_0", f"{h}.fc1"),
        **linear(v, f"{c}/ffn/linear_1", f"{h}.fc2"),
        **layer_norm(v, f"{c}/ffn/layer_norm", f"{h}.final_layer_norm"),
    }


def decoder_layer(v: _Variables, i: int, d_model: int) -> Dict[str, torch.Tensor]:
    c, h = f"decoder/layer_{i}", f"model.decoder.layers.{i}"
    return {
        **split_fused(v, f"{c}/self_attention/linear_0", f"{h}.self_attn", ["q_proj", "k_proj", "v_proj"], d_model),
        **linear(v, f"{c}/self_attention/linear_1", f"{h}.self_attn.out_proj"),
        **layer_norm(v, f"{c}/self_attention/layer_norm", f"{h}.self_attn_layer_norm"),
        **linear(v, f"{c}/attention/linear_0", f"{h}.encoder_attn.q_proj"),
        **split_fused(v, f"{c}/attention/linear_1", f"{h}.encoder_attn", ["k_proj", "v_proj"], d_model),
        **linear(v, f"{c}/attention/linear_2", f"{h}.encoder_attn.out_proj"),
        **layer_norm(v, f"{c}/attention/layer_norm", f"{h}.encoder_attn_layer_norm"),
        **linear(v, f"{c}/ffn/linear_0", f"{h}.fc1"),
        **linear(v, f"{c}/ffn/linear_1", f"{h}.fc2"),
        **layer_norm(v, f"{c}/ffn/layer_norm", f"{h}.final_layer_norm"),
    }


def output_projection(v: _Variables, embeddings: torch.Tensor) -> Dict[str, torch.Tensor]:
    """proj_out: tied to the embeddings (an alias, or an equal copy), else a weight of its own."""
    projection = v.take("decoder/projection/weight")
    if v.has("decoder/projection/bias"):
        bias = v.take("decoder/projection/bias")
        if bias.any():
            raise CT2FormatError("decoder/projection/bias is not zero, but transformers' Whisper "
                                 "proj_out has no bias")
    tied = projection is embeddings or torch.equal(projection, embeddings)
    return {} if tied else {"proj_out.weight": projection}


def warn_unless_whisper_sinusoids(positions: torch.Tensor) -> None:
    """Whisper's encoder positions are fixed sinusoids; other values mean a modified model."""
    length, channels = positions.shape
    increment = math.log(10000) / (channels // 2 - 1)
    inv_timescales = torch.exp(-increment * torch.arange(channels // 2, dtype=torch.float64))
    angles = torch.arange(length, dtype=torch.float64)[:, None] * inv_timescales[None]
    expected = torch.cat([angles.sin(), angles.cos()], dim=1)
    diff = (positions.double() - expected).abs().max().item()
    if diff > 1e-2:
        logging.warning(f"encoder/position_encodings/encodings differ from Whisper's sinusoids by up to {diff:.3g}; "
                        f"imported as they are")


def whisper_state_dict(named: Dict[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], WhisperDims]:
    """transformers' WhisperForConditionalGeneration state dict from CTranslate2 variables (aliases resolved)."""
    refuse_quantized(named)
    dims = infer_dims(named)
    v = _Variables(named)
    check_attributes(v, dims)
    sd = {}
    for i in (1, 2):
        sd.update(linear(v, f"encoder/conv{i}", f"model.encoder.conv{i}"))
    sd["model.encoder.embed_positions.weight"] = v.take("encoder/position_encodings/encodings")
    warn_unless_whisper_sinusoids(sd["model.encoder.embed_positions.weight"])
    for i in range(dims.encoder_layers):
        sd.update(encoder_layer(v, i, dims.d_model))
    sd.update(layer_norm(v, "encoder/layer_norm", "model.encoder.layer_norm"))
    embeddings = v.take("decoder/embeddings/weight")
    sd["model.decoder.embed_tokens.weight"] = embeddings
    sd["model.decoder.embed_positions.weight"] = v.take("decoder/position_encodings/encodings")
    for i in range(dims.decoder_layers):
        sd.update(decoder_layer(v, i, dims.d_model))
    sd.update(layer_norm(v, "decoder/layer_norm", "model.decoder.layer_norm"))
    sd.update(output_projection(v, embeddings))
    dims.tied_projection = "proj_out.weight" not in sd
    if v.left:
        raise CT2FormatError(f"{len(v.left)} variables this importer does not know how to map, "
                             f"e.g. {', '.join(sorted(v.left)[:5])}; refusing rather than dropping them")
    return sd, dims


def check_against_transformers(sd: Dict[str, torch.Tensor], config) -> None:
    """Every parameter of transformers' model filled, with its shape, and nothing else."""
    from transformers import WhisperForConditionalGeneration

    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    expected = {k: tuple(t.shape) for k, t in model.state_dict().items()}
    if config.tie_word_embeddings:
        expected.pop("proj_out.weight")
    missing = sorted(set(expected) - set(sd))
    extra = sorted(set(sd) - set(expected))
    wrong = [f"{k} {list(sd[k].shape)} (expected {list(expected[k])})"
             for k in sorted(set(sd) & set(expected)) if tuple(sd[k].shape) != expected[k]]
    if missing or extra or wrong:
        raise CT2FormatError("the mapped weights do not fit transformers' Whisper: "
                             + "; ".join(f"{what}: {', '.join(items[:5])}" for what, items in
                                         (("unfilled", missing), ("unknown", extra), ("wrong shape", wrong)) if items))


def unshared(sd: Dict[str, torch.Tensor], dtype: torch.dtype) -> Dict[str, torch.Tensor]:
    """In ``dtype``, each tensor with memory of its own: safetensors refuses shared memory, which
    aliased variables (e.g. the zero biases of a fresh model) would otherwise be."""
    seen, out = set(), {}
    for name, t in sd.items():
        t = t.to(dtype).contiguous()
        if t.untyped_storage().data_ptr() in seen:
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        out[name] = t
    return out


def checkpoint_dtype(named: Dict[str, torch.Tensor]) -> torch.dtype:
    """The float dtype of the weights; with a mix, float32 so that nothing is rounded."""
    dtypes = {t.dtype for t in named.values() if t.dim() > 0 and t.is_floating_point()}
    return dtypes.pop() if len(dtypes) == 1 else torch.float32


# ------------------------------------------------------------------------------------ vocabulary
def read_ct2_vocabulary(ct2_dir: Path) -> Optional[List[str]]:
    if (ct2_dir / "vocabulary.json").is_file():
        return json.loads((ct2_dir / "vocabulary.json").read_text(encoding="utf-8"))
    if (ct2_dir / "vocabulary.txt").is_file():
        return (ct2_dir / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
    return None


def load_tokenizer(ct2_dir: Path, vocab_size: int):
    """The Whisper tokenizer of tokenizer.json, checked against the model's vocabulary."""
    from tokenizers import AddedToken
    from transformers import WhisperTokenizerFast

    path = ct2_dir / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; copy the original model's tokenizer.json next to model.bin "
                                f"(ct2-transformers-converter --copy_files tokenizer.json)")
    added = json.loads(path.read_text(encoding="utf-8")).get("added_tokens", [])
    # in id order, so that all_special_ids[-1] is <|notimestamps|>, where timestamp ids begin
    specials = [t["content"] for t in sorted(added, key=lambda t: t["id"]) if t.get("special")]
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(path), extra_special_tokens=specials)
    ct2_vocab = read_ct2_vocabulary(ct2_dir)
    if ct2_vocab is None:
        if len(tokenizer) != vocab_size:
            logging.warning(f"{path} has {len(tokenizer)} tokens for a model of {vocab_size}, and there is no "
                            f"vocabulary.json to check it against")
        return tokenizer
    if len(ct2_vocab) != vocab_size:
        raise CT2FormatError(f"{ct2_dir}: the vocabulary file has {len(ct2_vocab)} tokens but the model's "
                             f"embeddings have {vocab_size} rows; they are not of the same model")
    if len(tokenizer) > vocab_size:
        raise CT2FormatError(f"{path} has {len(tokenizer)} tokens, more than the model's {vocab_size}")
    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    for i in range(len(tokenizer)):
        if by_id.get(i) != ct2_vocab[i]:
            raise CT2FormatError(f"{path} and the vocabulary file of {ct2_dir} disagree at id {i}: "
                                 f"{by_id.get(i)!r} vs {ct2_vocab[i]!r}; they must come from the same model")
    if len(tokenizer) < vocab_size:
        # older Whisper tokenizer.json files lack the timestamp tokens the converter appended
        missing = ct2_vocab[len(tokenizer):]
        tokenizer.add_tokens([AddedToken(t, special=False, normalized=True) for t in missing])
        logging.info(f"added {len(missing)} tokens of the vocabulary file ({missing[0]} ... {missing[-1]}) "
                     f"missing from {path}")
    return tokenizer


@dataclass
class SpecialTokens:
    eot: int
    sot: int
    no_timestamps: int
    transcribe: Optional[int]
    translate: Optional[int]
    prev_sot: Optional[int]
    lang_to_id: Dict[str, int]


def special_tokens(vocab: Dict[str, int], ct2_config: dict, path: Path) -> SpecialTokens:
    def required(token):
        if token not in vocab:
            raise CT2FormatError(f"{path} has no {token} token; not a Whisper tokenizer")
        return vocab[token]

    return SpecialTokens(
        eot=required("<|endoftext|>"), sot=required("<|startoftranscript|>"),
        no_timestamps=required("<|notimestamps|>"), transcribe=vocab.get("<|transcribe|>"),
        translate=vocab.get("<|translate|>"), prev_sot=vocab.get("<|startofprev|>"),
        lang_to_id=language_tokens(vocab, ct2_config.get("lang_ids") or []),
    )


def language_tokens(vocab: Dict[str, int], ct2_lang_ids: List[int]) -> Dict[str, int]:
    """<|xx|> -> id: CTranslate2's lang_ids when given, else Whisper's language codes found in the vocabulary."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    if not ct2_lang_ids:
        return {f"<|{code}|>": vocab[f"<|{code}|>"] for code in LANGUAGES if f"<|{code}|>" in vocab}
    by_id = {i: t for t, i in vocab.items()}
    tokens = {}
    for i in sorted(ct2_lang_ids):
        token = by_id.get(i, "")
        if not re.fullmatch(r"<\|[a-z]{2,3}\|>", token):
            raise CT2FormatError(f"config.json: lang_ids has {i}, which is {token!r} in the tokenizer, "
                                 f"not a language token")
        tokens[token] = i
    return tokens


# ------------------------------------------------------------------------------------ configs
def whisper_config(dims: WhisperDims, ids: SpecialTokens, ct2_config: dict, dtype: torch.dtype):
    from transformers import WhisperConfig

    config = WhisperConfig(
        vocab_size=dims.vocab_size, num_mel_bins=dims.n_mels, d_model=dims.d_model,
        encoder_layers=dims.encoder_layers, decoder_layers=dims.decoder_layers,
        encoder_attention_heads=dims.encoder_heads, decoder_attention_heads=dims.decoder_heads,
        encoder_ffn_dim=dims.encoder_ffn_dim, decoder_ffn_dim=dims.decoder_ffn_dim,
        max_source_positions=dims.max_source_positions, max_target_positions=dims.max_target_positions,
        decoder_start_token_id=ids.sot, bos_token_id=ids.eot, eos_token_id=ids.eot, pad_token_id=ids.eot,
        suppress_tokens=ct2_config.get("suppress_ids"), begin_suppress_tokens=ct2_config.get("suppress_ids_begin"),
        tie_word_embeddings=dims.tied_projection, architectures=["WhisperForConditionalGeneration"],
    )
    config.dtype = dtype
    return config


def generation_config(dims: WhisperDims, ids: SpecialTokens, ct2_config: dict):
    """What model.generate needs: the prompt tokens, and language/task ids for a multilingual model."""
    from transformers import GenerationConfig

    extra = {}
    if ids.lang_to_id:
        if ids.transcribe is None or ids.translate is None:
            raise CT2FormatError("the tokenizer has language tokens but no <|transcribe|>/<|translate|>")
        extra.update(lang_to_id=ids.lang_to_id, task_to_id={"transcribe": ids.transcribe, "translate": ids.translate})
    if ids.prev_sot is not None:
        extra["prev_sot_token_id"] = ids.prev_sot
    if ct2_config.get("alignment_heads"):
        extra["alignment_heads"] = [list(h) for h in ct2_config["alignment_heads"]]
    return GenerationConfig(
        decoder_start_token_id=ids.sot, bos_token_id=ids.eot, eos_token_id=ids.eot, pad_token_id=ids.eot,
        max_length=dims.max_target_positions, suppress_tokens=ct2_config.get("suppress_ids"),
        begin_suppress_tokens=ct2_config.get("suppress_ids_begin"), no_timestamps_token_id=ids.no_timestamps,
        is_multilingual=bool(ids.lang_to_id), return_timestamps=False,
        max_initial_timestamp_index=50,  # openai/whisper's 1 s limit on the first timestamp
        **extra,
    )


def feature_extractor(ct2_dir: Path, dims: WhisperDims):
    """Whisper's log-mel front end with the model's number of mel bins and window length."""
    from transformers import WhisperFeatureExtractor

    n_frames = 2 * dims.max_source_positions  # conv2 has stride 2
    path = ct2_dir / "preprocessor_config.json"
    if path.is_file():
        fe = WhisperFeatureExtractor.from_json_file(str(path))
    else:
        seconds = n_frames * HOP_LENGTH / SAMPLING_RATE
        if seconds != int(seconds):
            raise CT2FormatError(f"{dims.max_source_positions} encoder positions are not a whole number of seconds "
                                 f"of audio; add the model's preprocessor_config.json to {ct2_dir}")
        fe = WhisperFeatureExtractor(feature_size=dims.n_mels, chunk_length=int(seconds))
    if fe.feature_size != dims.n_mels or fe.nb_max_frames != n_frames:
        raise CT2FormatError(f"{path}: {fe.feature_size} mel bins x {fe.nb_max_frames} frames, but the model takes "
                             f"{dims.n_mels} x {n_frames}")
    return fe


def read_ct2_config(ct2_dir: Path) -> dict:
    path = ct2_dir / "config.json"
    if not path.is_file():
        logging.warning(f"{path}: no such file; no suppressed tokens or alignment heads")
        return {}
    config = json.loads(path.read_text(encoding="utf-8"))
    eps = config.get("layer_norm_epsilon")
    if eps is not None and eps != 1e-5:
        raise CT2FormatError(f"{path}: layer_norm_epsilon {eps}, but transformers' Whisper uses 1e-5")
    unused = sorted(set(config) - {"suppress_ids", "suppress_ids_begin", "lang_ids", "alignment_heads",
                                   "layer_norm_epsilon"})
    if unused:
        logging.warning(f"{path}: ignoring {', '.join(unused)}")
    return config


# ------------------------------------------------------------------------------------ import
def describe(dims: WhisperDims, multilingual: bool) -> str:
    sizes = {(384, 4, 4): "tiny", (512, 6, 6): "base", (768, 12, 12): "small", (1024, 24, 24): "medium",
             (1280, 32, 32): "large", (1280, 32, 4): "large-v3-turbo"}
    name = sizes.get((dims.d_model, dims.encoder_layers, dims.decoder_layers), "custom")
    if name == "large" and dims.n_mels == 128:
        name = "large-v3"
    if not multilingual:
        name += ".en"
    return (f"{name}: d_model {dims.d_model}, {dims.encoder_layers}+{dims.decoder_layers} layers, "
            f"{dims.encoder_heads}/{dims.decoder_heads} heads, ffn {dims.encoder_ffn_dim}/{dims.decoder_ffn_dim}, "
            f"{dims.n_mels} mels, vocab {dims.vocab_size}, positions {dims.max_source_positions}/"
            f"{dims.max_target_positions}, {'multilingual' if multilingual else 'English-only'}")


def refuse_existing(out_dir: Path, overwrite: bool) -> None:
    if out_dir.is_file():
        raise FileExistsError(f"{out_dir} is a file; give a directory path")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise FileExistsError(f"{out_dir} exists and is not empty; pass --overwrite true to replace it")


def resolve_dtype(dtype: Union[None, str, torch.dtype]) -> Optional[torch.dtype]:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype {dtype!r}: give one of {', '.join(FLOAT_DTYPES)}")
    return FLOAT_DTYPES[dtype]


def make_readable(directory: Path) -> None:
    """mkdtemp and safetensors create owner-only entries; a model directory is meant to be shared."""
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)


def import_ct2_whisper(ct2_dir: PathLike, out_dir: PathLike, dtype: Union[None, str, torch.dtype] = None,
                       overwrite: bool = False) -> Path:
    """Write a transformers Whisper directory (model, config, generation config, tokenizer,
    feature extractor) for the CTranslate2 checkpoint in ``ct2_dir``. ``dtype``: float16 or
    float32; None keeps the checkpoint's."""
    from safetensors.torch import save_file

    ct2_dir, out_dir = Path(ct2_dir), Path(out_dir)
    refuse_existing(out_dir, overwrite)
    checkpoint = read_ct2_model(ct2_dir / "model.bin")
    if checkpoint.spec_name != "WhisperSpec":
        raise CT2FormatError(f"{ct2_dir / 'model.bin'} is a {checkpoint.spec_name}, not a WhisperSpec")
    if checkpoint.revision > KNOWN_SPEC_REVISION:
        raise CT2FormatError(f"{ct2_dir / 'model.bin'}: WhisperSpec revision {checkpoint.revision} is newer than "
                             f"the {KNOWN_SPEC_REVISION} this importer knows")
    found = (f"{checkpoint.spec_name} revision {checkpoint.revision}, {len(checkpoint.variables)} variables + "
             f"{len(checkpoint.aliases)} aliases")
    try:
        named = resolve_aliases(checkpoint.variables, checkpoint.aliases)
        sd, dims = whisper_state_dict(named)
    except CT2FormatError as e:
        raise type(e)(f"{ct2_dir / 'model.bin'}: {e}") from None
    source_dtype = checkpoint_dtype(named)
    target_dtype = resolve_dtype(dtype) or source_dtype
    del checkpoint, named  # the fused originals of the split tensors: a third of a large model

    ct2_config = read_ct2_config(ct2_dir)
    tokenizer = load_tokenizer(ct2_dir, dims.vocab_size)
    ids = special_tokens(tokenizer.get_vocab(), ct2_config, ct2_dir / "tokenizer.json")
    config = whisper_config(dims, ids, ct2_config, target_dtype)
    check_against_transformers(sd, config)
    generation = generation_config(dims, ids, ct2_config)
    fe = feature_extractor(ct2_dir, dims)
    logging.info(f"{ct2_dir}: {found}, {str(source_dtype).replace('torch.', '')}; "
                 f"Whisper {describe(dims, bool(ids.lang_to_id))}")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        save_file(unshared(sd, target_dtype), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        config.save_pretrained(tmp)
        generation.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        fe.save_pretrained(tmp)
        make_readable(tmp)
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logging.info(f"wrote {out_dir} ({len(sd)} tensors, {str(target_dtype).replace('torch.', '')})")
    return out_dir
