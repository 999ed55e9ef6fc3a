"""import_ct2_whisper on tiny random Whispers converted by CTranslate2's own converter: the weights
come back exactly, CTranslate2's runtime and the imported model agree, quantised and broken
checkpoints are refused, the command line works. No download: the tokenizer is built here."""

import json
import logging
import os
import shutil
import struct

import ctranslate2
import numpy as np
import pytest
import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
from transformers import (GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration,
                          WhisperProcessor, WhisperTokenizerFast)

from espnet_csst.bin import import_ct2_whisper as cli
from espnet_csst.encoders import ct2_whisper
from espnet_csst.encoders.ct2_whisper import (CT2FormatError, QuantizedCheckpointError, import_ct2_whisper,
                                              language_tokens, read_ct2_model)

LANGUAGES = ["en", "es", "de"]
N_TIMESTAMPS = 6
# the two models differ in every size the importer must read off the checkpoint
MULTILINGUAL = dict(languages=LANGUAGES, n_mels=80, d_model=64, encoder_layers=2, decoder_layers=2, heads=4,
                    ffn=128, source_positions=1500, target_positions=64, seed=0)
ENGLISH = dict(languages=[], n_mels=128, d_model=48, encoder_layers=1, decoder_layers=3, heads=3,
               ffn=96, source_positions=500, target_positions=40, seed=1)


def byte_alphabet():
    """GPT-2's byte-level symbols in its id order (printable bytes first): "Ġ" (space) is 220, as in Whisper."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    n_other = 256 - len(printable)
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(n_other)]


def whisper_special_tokens(languages):
    return ["<|endoftext|>", "<|startoftranscript|>", *[f"<|{lang}|>" for lang in languages], "<|translate|>",
            "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]


def write_tiny_tokenizer(out_dir, languages):
    """A Whisper tokenizer.json: byte-level BPE with a few merges, the special tokens, a few timestamps."""
    vocab = {c: i for i, c in enumerate(byte_alphabet())}
    merges = [("Ġ", "l"), ("a", "s"), ("Ġl", "as"), ("e", "s")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in whisper_special_tokens(languages)])
    tk.add_tokens([AddedToken("<|%.2f|>" % (i * 0.02), special=False, normalized=True) for i in range(N_TIMESTAMPS)])
    out_dir.mkdir(parents=True, exist_ok=True)
    tk.save(str(out_dir / "tokenizer.json"))
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(out_dir / "tokenizer.json"),
                                     extra_special_tokens=whisper_special_tokens(languages))
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def randomize(model):
    """Weights far from the init (zero biases, unit norms), so every tensor is distinct and the
    greedy tokens depend on the audio; the encoder positions stay Whisper's sinusoids."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "model.encoder.embed_positions.weight":
                continue
            if "layer_norm" in name and name.endswith("weight"):
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.5)


def save_tiny_whisper(out_dir, languages, n_mels, d_model, encoder_layers, decoder_layers, heads, ffn,
                      source_positions, target_positions, seed):
    tokenizer = write_tiny_tokenizer(out_dir, languages)
    vocab = tokenizer.get_vocab()
    eot, sot = vocab["<|endoftext|>"], vocab["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=n_mels, d_model=d_model, encoder_layers=encoder_layers,
        decoder_layers=decoder_layers, encoder_attention_heads=heads, decoder_attention_heads=heads,
        encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, max_source_positions=source_positions,
        max_target_positions=target_positions, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,
        decoder_start_token_id=sot, suppress_tokens=[1, 2, 3, vocab["<|startofprev|>"]],
        begin_suppress_tokens=[220, eot],
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    randomize(model)
    generation = model.generation_config
    generation._from_model_config = False  # else transformers rebuilds it from config.json and drops lang_to_id
    generation.no_timestamps_token_id = vocab["<|notimestamps|>"]
    generation.is_multilingual = bool(languages)
    if languages:
        generation.lang_to_id = {f"<|{lang}|>": vocab[f"<|{lang}|>"] for lang in languages}
        generation.task_to_id = {"transcribe": vocab["<|transcribe|>"], "translate": vocab["<|translate|>"]}
    model.save_pretrained(out_dir)
    chunk_length = source_positions * 2 * 160 // 16000
    WhisperFeatureExtractor(feature_size=n_mels, chunk_length=chunk_length).save_pretrained(out_dir)
    return model


def convert(hf_dir, out_dir, quantization, copy_preprocessor=True):
    files = ["tokenizer.json"] + (["preprocessor_config.json"] if copy_preprocessor else [])
    ctranslate2.converters.TransformersConverter(str(hf_dir), copy_files=files).convert(
        str(out_dir), quantization=quantization)
    return out_dir


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory):
    root = tmp_path_factory.mktemp("multilingual")
    model = save_tiny_whisper(root / "hf", **MULTILINGUAL)
    ct2 = {q: convert(root / "hf", root / f"ct2_{q}", q) for q in ("float32", "float16", "bfloat16", "int8")}
    return dict(root=root, model=model, ct2=ct2)


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    root = tmp_path_factory.mktemp("english")
    model = save_tiny_whisper(root / "hf", **ENGLISH)
    # no preprocessor_config.json: the importer derives it from the checkpoint
    ct2 = convert(root / "hf", root / "ct2", "float16", copy_preprocessor=False)
    return dict(root=root, model=model, ct2=ct2)


def load_imported(path, dtype=None):
    model, info = WhisperForConditionalGeneration.from_pretrained(path, dtype=dtype, output_loading_info=True)
    assert not any(info.values()), info  # nothing missing, unexpected or mismatched
    return model.eval()


def features(n_mels, seconds_window, n=2):
    """Log-mel features of a chirp and of noise: the runtime and the imported model see the same input."""
    rng = np.random.default_rng(0)
    t = np.arange(int(1.5 * 16000)) / 16000
    audio = [0.3 * np.sin(2 * np.pi * 300 * t * (1 + t)), 0.1 * rng.standard_normal(16000)][:n]
    fe = WhisperFeatureExtractor(feature_size=n_mels, chunk_length=seconds_window)
    return fe(audio, sampling_rate=16000, return_tensors="pt").input_features


def ct2_greedy(ct2_dir, feats, prompt, n_tokens):
    whisper = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="float32", intra_threads=1)
    sv = ctranslate2.StorageView.from_array(np.ascontiguousarray(feats.numpy()))
    encoded = torch.from_numpy(np.array(whisper.encode(sv, to_cpu=True)))
    # its max_length counts (some of) the prompt, not simply prompt + n: ask for more, keep n
    results = whisper.generate(sv, [prompt] * len(feats), beam_size=1, max_length=len(prompt) + 2 * n_tokens)
    return encoded, [r.sequences_ids[0][:n_tokens] for r in results]


def generated_tokens(sequences, prompt, eot):
    """transformers' generated ids without the prompt (when it returns it) and from the end token on."""
    out = []
    for ids in sequences.tolist():
        ids = ids[len(prompt):] if ids[:len(prompt)] == prompt else ids
        out.append(ids[: ids.index(eot)] if eot in ids else ids)
    return out


# ------------------------------------------------------------------------------------ weights
@pytest.mark.parametrize("quantization,dtype", [("float32", torch.float32), ("float16", torch.float16),
                                                ("bfloat16", torch.bfloat16)])
def test_every_tensor_and_config_field_comes_back(multilingual, tmp_path, quantization, dtype):
    out = import_ct2_whisper(multilingual["ct2"][quantization], tmp_path / "hf")
    imported = load_imported(out)
    original = multilingual["model"]
    ref = original.state_dict()
    got = imported.state_dict()
    assert set(got) == set(ref)
    for name, tensor in got.items():
        assert tensor.dtype == dtype, name
        # float32 exactly; float16/bfloat16 exactly the rounded original
        assert torch.equal(tensor, ref[name].to(dtype)), name
    assert imported.proj_out.weight.data_ptr() == imported.model.decoder.embed_tokens.weight.data_ptr()  # tied
    fields = ["vocab_size", "num_mel_bins", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
              "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim", "max_source_positions",
              "max_target_positions", "decoder_start_token_id", "eos_token_id", "pad_token_id", "bos_token_id",
              "suppress_tokens", "begin_suppress_tokens", "scale_embedding", "activation_function"]
    assert {f: getattr(imported.config, f) for f in fields} == {f: getattr(original.config, f) for f in fields}


def test_dtype_can_be_chosen(multilingual, tmp_path):
    out = import_ct2_whisper(multilingual["ct2"]["float16"], tmp_path / "hf", dtype="float32")
    weight = load_imported(out).model.encoder.conv1.weight
    assert weight.dtype == torch.float32
    assert torch.equal(weight, multilingual["model"].model.encoder.conv1.weight.half().float())


def test_reads_the_binary_format(multilingual):
    spec, revision, variables, aliases = read_ct2_model(multilingual["ct2"]["float16"])
    assert (spec, revision) == ("WhisperSpec", 3)
    d = MULTILINGUAL["d_model"]
    assert variables["encoder/layer_0/self_attention/linear_0/weight"].shape == (3 * d, d)  # fused q/k/v
    assert variables["decoder/layer_0/attention/linear_1/weight"].shape == (2 * d, d)  # fused cross k/v
    assert variables["encoder/conv1/weight"].shape == (d, 80, 3)
    assert variables["encoder/num_heads"].dtype == torch.int16 and variables["encoder/num_heads"].item() == 4
    assert variables["decoder/pre_norm"].dtype == torch.int8
    assert aliases["decoder/projection/weight"] == "decoder/embeddings/weight"


def test_the_runtime_and_the_imported_model_agree(multilingual, tmp_path):
    """Same encoder output and same greedy tokens, es/transcribe prompt, from the float16 checkpoint."""
    out = import_ct2_whisper(multilingual["ct2"]["float16"], tmp_path / "hf")
    model = load_imported(out, dtype=torch.float32)
    tokenizer = WhisperProcessor.from_pretrained(out).tokenizer
    feats = features(80, 30)
    prompt = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", "<|es|>", "<|transcribe|>", "<|notimestamps|>"])
    ct2_encoded, ct2_tokens = ct2_greedy(multilingual["ct2"]["float16"], feats, prompt, n_tokens=6)
    with torch.no_grad():
        encoded = model.model.encoder(feats).last_hidden_state
        generated = model.generate(feats, language="es", task="transcribe", max_new_tokens=6)
    torch.testing.assert_close(encoded, ct2_encoded, rtol=1e-3, atol=1e-3)
    assert generated_tokens(generated, prompt, tokenizer.eos_token_id) == ct2_tokens
    assert ct2_tokens[0] != ct2_tokens[1]  # the tokens depend on the audio: a real comparison


def test_generation_config_tokenizer_and_feature_extractor(multilingual, tmp_path):
    out = import_ct2_whisper(multilingual["ct2"]["float32"], tmp_path / "hf")
    vocab = WhisperTokenizerFast.from_pretrained(multilingual["root"] / "hf").get_vocab()
    generation = GenerationConfig.from_pretrained(out)
    assert generation.lang_to_id == {f"<|{lang}|>": vocab[f"<|{lang}|>"] for lang in LANGUAGES}
    assert generation.task_to_id == {"transcribe": vocab["<|transcribe|>"], "translate": vocab["<|translate|>"]}
    assert generation.no_timestamps_token_id == vocab["<|notimestamps|>"] and generation.is_multilingual
    assert generation.decoder_start_token_id == vocab["<|startoftranscript|>"]
    assert generation.prev_sot_token_id == vocab["<|startofprev|>"]
    assert generation.max_length == MULTILINGUAL["target_positions"]
    assert generation.alignment_heads == [[1, h] for h in range(4)]  # the converter's default: the last half
    processor = WhisperProcessor.from_pretrained(out)
    assert processor.feature_extractor.feature_size == 80 and processor.feature_extractor.nb_max_frames == 3000
    tokenizer = processor.tokenizer
    assert tokenizer.get_vocab() == vocab
    ids = tokenizer("las es").input_ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == "las es"
    assert tokenizer.all_special_ids[-1] == vocab["<|notimestamps|>"]  # where timestamp decoding begins


def test_english_only_model_of_other_sizes(english, tmp_path):
    """128 mels, 1+3 layers, 3 heads, a 10 s window; no preprocessor_config.json, and (the runtime
    needs it, the importer does not) no vocabulary.json."""
    bare = shutil.copytree(english["ct2"], tmp_path / "ct2", ignore=shutil.ignore_patterns("vocabulary.json"))
    out = import_ct2_whisper(bare, tmp_path / "hf")
    model = load_imported(out, dtype=torch.float32)
    ref = english["model"].config
    for field in ("num_mel_bins", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
                  "encoder_ffn_dim", "max_source_positions", "max_target_positions", "vocab_size"):
        assert getattr(model.config, field) == getattr(ref, field), field
    generation = GenerationConfig.from_pretrained(out)
    assert not generation.is_multilingual and not hasattr(generation, "lang_to_id")
    fe = WhisperProcessor.from_pretrained(out).feature_extractor
    assert (fe.feature_size, fe.chunk_length, fe.nb_max_frames) == (128, 10, 1000)

    feats = features(128, 10)
    tokenizer = WhisperTokenizerFast.from_pretrained(out)
    prompt = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", "<|notimestamps|>"])
    ct2_encoded, ct2_tokens = ct2_greedy(english["ct2"], feats, prompt, n_tokens=4)
    with torch.no_grad():
        encoded = model.model.encoder(feats).last_hidden_state
        generated = model.generate(feats, max_new_tokens=4)
    torch.testing.assert_close(encoded, ct2_encoded, rtol=1e-3, atol=1e-3)
    assert generated_tokens(generated, prompt, tokenizer.eos_token_id) == ct2_tokens


def test_language_tokens_found_by_code_when_config_has_none():
    vocab = {"<|endoftext|>": 0, "<|es|>": 5, "<|en|>": 4, "<|xx|>": 6, "a": 1}
    assert language_tokens(vocab, []) == {"<|en|>": 4, "<|es|>": 5}
    assert language_tokens(vocab, [5]) == {"<|es|>": 5}
    with pytest.raises(CT2FormatError, match="lang_ids has 1"):
        language_tokens(vocab, [1])


# ------------------------------------------------------------------------------------ refusals
def test_quantised_checkpoint_is_refused(multilingual, tmp_path):
    with pytest.raises(QuantizedCheckpointError) as e:
        import_ct2_whisper(multilingual["ct2"]["int8"], tmp_path / "hf")
    message = str(e.value)
    assert "int8" in message and "/weight" in message and "--quantization float16" in message
    assert not (tmp_path / "hf").exists() and list(tmp_path.iterdir()) == []


DTYPE_IDS = {torch.float32: 0, torch.int8: 1, torch.int16: 2, torch.int32: 3, torch.float16: 4}


def write_ct2_model(path, spec, revision, variables, aliases):
    """model.bin as CTranslate2 lays it out (binary version 6), for checkpoints its converter would not write."""
    def string(s):
        raw = s.encode("utf-8") + b"\0"
        return struct.pack("<H", len(raw)) + raw

    parts = [struct.pack("<I", 6), string(spec), struct.pack("<I", revision), struct.pack("<I", len(variables))]
    for name, t in sorted(variables.items()):
        parts += [string(name), struct.pack("<B", t.dim()), *(struct.pack("<I", n) for n in t.shape),
                  struct.pack("<BI", DTYPE_IDS[t.dtype], t.numel() * t.element_size()), t.numpy().tobytes()]
    parts.append(struct.pack("<I", len(aliases)))
    for alias, target in aliases.items():
        parts += [string(alias), string(target)]
    path.write_bytes(b"".join(parts))


def edited_copy(src, dst, edit):
    """A copy of a CTranslate2 model directory whose variables went through ``edit``."""
    dst.mkdir()
    for name in os.listdir(src):
        if name != "model.bin":
            (dst / name).write_bytes((src / name).read_bytes())
    spec, revision, variables, aliases = read_ct2_model(src)
    edit(variables, aliases)
    write_ct2_model(dst / "model.bin", spec, revision, variables, aliases)
    return dst


def test_writer_round_trip_imports_like_the_original(multilingual, tmp_path):
    """The test's writer lays the file out as CTranslate2 does: an unedited copy imports the same."""
    src = multilingual["ct2"]["float16"]
    copy = edited_copy(src, tmp_path / "copy", lambda variables, aliases: None)
    assert copy.joinpath("model.bin").read_bytes() == src.joinpath("model.bin").read_bytes()


@pytest.mark.parametrize("edit,match", [
    (lambda v, a: v.update({"decoder/layer_0/ffn/extra/weight": torch.zeros(2)}),
     "decoder/layer_0/ffn/extra/weight"),
    (lambda v, a: v.pop("decoder/layer_1/ffn/linear_0/bias"), "no variable decoder/layer_1/ffn/linear_0/bias"),
    (lambda v, a: v.update({"decoder/activation": torch.tensor(1, dtype=torch.int8)}), "decoder/activation = 1"),
    (lambda v, a: v.update({"decoder/scale_embeddings": torch.tensor(1, dtype=torch.int8)}),
     "decoder/scale_embeddings = 1"),
    (lambda v, a: a.update({"decoder/layer_0/x": "nowhere"}), "alias decoder/layer_0/x points at nowhere"),
])
def test_unexpected_or_missing_variables_are_named(multilingual, tmp_path, edit, match):
    broken = edited_copy(multilingual["ct2"]["float16"], tmp_path / "broken", edit)
    with pytest.raises(CT2FormatError, match=match) as e:
        import_ct2_whisper(broken, tmp_path / "hf")
    assert str(e.value).startswith(f"{broken / 'model.bin'}: ")
    assert not (tmp_path / "hf").exists()


def test_a_key_bias_is_dropped_with_a_warning(multilingual, tmp_path, caplog):
    """transformers' Whisper has no k_proj bias; a non-zero one adds the same to all of a query's scores."""
    name, d = "encoder/layer_0/self_attention/linear_0/bias", MULTILINGUAL["d_model"]

    def add_key_bias(variables, aliases):
        variables[name] = variables[name].clone()
        variables[name][d: 2 * d] = 0.5

    edited = edited_copy(multilingual["ct2"]["float32"], tmp_path / "ct2", add_key_bias)
    out = import_ct2_whisper(edited, tmp_path / "hf")
    assert name in caplog.text and "changes no attention weight" in caplog.text
    model, original = load_imported(out), multilingual["model"]
    feats = features(80, 30, n=1)
    with torch.no_grad():
        torch.testing.assert_close(model.model.encoder(feats).last_hidden_state,
                                   original.model.encoder(feats).last_hidden_state)


def test_truncated_or_padded_model_bin(multilingual, tmp_path):
    data = multilingual["ct2"]["float16"].joinpath("model.bin").read_bytes()
    (tmp_path / "model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(CT2FormatError, match="model.bin is truncated"):
        read_ct2_model(tmp_path)
    (tmp_path / "model.bin").write_bytes(data + data[:10])
    with pytest.raises(CT2FormatError, match="10 bytes after its last alias"):
        read_ct2_model(tmp_path)


def test_tokenizer_of_another_model_is_refused(multilingual, english, tmp_path):
    mixed = edited_copy(multilingual["ct2"]["float32"], tmp_path / "mixed", lambda variables, aliases: None)
    (mixed / "tokenizer.json").write_bytes((english["ct2"] / "tokenizer.json").read_bytes())
    with pytest.raises(CT2FormatError, match="disagree at id"):
        import_ct2_whisper(mixed, tmp_path / "hf")


def test_an_interrupted_write_leaves_nothing(multilingual, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(WhisperFeatureExtractor, "save_pretrained", fail)
    with pytest.raises(KeyboardInterrupt):
        import_ct2_whisper(multilingual["ct2"]["float16"], tmp_path / "hf")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ command line
def test_cli_writes_then_refuses_then_overwrites(multilingual, tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    ct2_dir, out = multilingual["ct2"]["float16"], tmp_path / "hf"
    assert cli.main(["--ct2_dir", str(ct2_dir), "--out", str(out)]) == 0
    assert "d_model 64, 2+2 layers" in caplog.text and f"wrote {out}" in caplog.text
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "generation_config.json", "model.safetensors", "preprocessor_config.json", "tokenizer.json",
        "tokenizer_config.json"]
    assert oct(out.stat().st_mode & 0o777) == "0o755"
    assert oct(out.joinpath("model.safetensors").stat().st_mode & 0o777) == "0o644"

    assert cli.main(["--ct2_dir", str(ct2_dir), "--out", str(out), "--dtype", "float32"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists and is not empty" in err and "--overwrite true" in err
    assert json.loads(out.joinpath("config.json").read_text())["dtype"] == "float16"  # untouched

    assert cli.main(["--ct2_dir", str(ct2_dir), "--out", str(out), "--dtype", "float32", "--overwrite", "true"]) == 0
    assert json.loads(out.joinpath("config.json").read_text())["dtype"] == "float32"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]  # no temporary or old directory left


def test_cli_without_model_bin(tmp_path, capsys):
    (tmp_path / "ct2").mkdir()
    assert cli.main(["--ct2_dir", str(tmp_path / "ct2"), "--out", str(tmp_path / "hf")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("import_ct2_whisper: error: ")
    assert str(tmp_path / "ct2" / "model.bin") in err and not (tmp_path / "hf").exists()


def test_module_does_not_import_ctranslate2():
    """ctranslate2 is a test dependency only: the importer reads model.bin itself."""
    source = open(ct2_whisper.__file__, encoding="utf-8").read()
    assert "import ctranslate2" not in source and "from ctranslate2" not in source
