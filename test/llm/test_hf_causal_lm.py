"""HFCausalLM: pretrained directories, configs, LoRA and greedy generation (tiny random models)."""

import math

import pytest
import torch
from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig, Qwen2Config

from espnet_csst.llm.hf_causal_lm import HFCausalLM, LLMConfigError

VOCAB = 64

PRETRAINED = {
    "llama": lambda: LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64),
    "qwen2": lambda: Qwen2Config(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64),
    "gpt2": lambda: GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=2, n_positions=64),
}

FROM_CONFIG = {
    "llama": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=2, max_position_embeddings=48),
    "qwen2": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=48),
    "gpt2": dict(n_embd=32, n_layer=2, n_head=2, n_positions=48),
}

LORA_TARGETS = {"llama": ["q_proj", "v_proj"], "qwen2": ["q_proj", "v_proj"], "gpt2": ["c_attn"]}


def save_tiny(arch, path, seed=0):
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(PRETRAINED[arch]()).eval()
    model.save_pretrained(path)
    return model


@pytest.mark.parametrize("arch", sorted(PRETRAINED))
def test_pretrained_directory_gives_the_same_logits(arch, tmp_path):
    orig = save_tiny(arch, tmp_path / arch)
    llm = HFCausalLM(vocab_size=VOCAB, model_name_or_path=str(tmp_path / arch)).eval()
    ids = torch.randint(0, VOCAB, (2, 7), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        expected = orig(input_ids=ids, attention_mask=mask).logits
        got = llm(llm.embed(ids), mask)["logits"]
    assert got.shape == (2, 7, VOCAB)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    assert llm.hidden_size() == 32 and llm.num_layers() == 2 and llm.max_positions() == 64


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_token_list_longer_than_embedding_is_a_config_error(arch, tmp_path):
    save_tiny(arch, tmp_path / arch)
    with pytest.raises(LLMConfigError, match="token list") as e:
        HFCausalLM(vocab_size=VOCAB + 1, model_name_or_path=str(tmp_path / arch))
    assert f"{VOCAB + 1} entries" in str(e.value) and f"{VOCAB} embedding rows" in str(e.value)


def test_missing_local_directory_is_a_config_error(tmp_path):
    with pytest.raises(LLMConfigError, match="not a directory"):
        HFCausalLM(vocab_size=VOCAB, model_name_or_path=str(tmp_path / "nope"))


@pytest.mark.parametrize("arch", sorted(FROM_CONFIG))
def test_build_from_config(arch):
    llm = HFCausalLM(vocab_size=50, pad_id=0, bos_id=49, eos_id=49, arch=arch, config=FROM_CONFIG[arch])
    assert llm.hidden_size() == 32
    assert llm.num_layers() == 2
    assert llm.max_positions() == 48
    assert llm.vocab_size() == 50
    assert llm.model.get_input_embeddings().weight.shape == (50, 32)
    assert llm.config.eos_token_id == 49 and llm.config.pad_token_id == 0
    ids = torch.tensor([[49, 3, 4, 5]])
    out = llm(llm.embed(ids), torch.ones_like(ids), output_hidden_states=True)
    assert out["logits"].shape == (1, 4, 50)
    assert len(out["hidden_states"]) == 3  # embeddings + 2 layers


def test_unknown_arch_is_a_config_error():
    with pytest.raises(LLMConfigError, match="arch 'no_such_arch'"):
        HFCausalLM(vocab_size=50, arch="no_such_arch", config={})


def test_freeze_leaves_no_trainable_parameter():
    llm = HFCausalLM(vocab_size=50, arch="llama", config=FROM_CONFIG["llama"], freeze=True)
    assert not any(p.requires_grad for p in llm.parameters())


@pytest.mark.parametrize("arch", sorted(PRETRAINED))
def test_lora_trains_only_the_adapters(arch, tmp_path):
    save_tiny(arch, tmp_path / arch)
    llm = HFCausalLM(vocab_size=VOCAB, model_name_or_path=str(tmp_path / arch),
                     lora={"r": 4, "lora_alpha": 8, "target_modules": LORA_TARGETS[arch]})
    named = dict(llm.named_parameters())
    lora = {n for n in named if "lora_" in n}
    assert lora, "no LoRA parameters were added"
    assert {n for n, p in named.items() if p.requires_grad} == lora
    before = {n: p.detach().clone() for n, p in named.items()}

    opt = torch.optim.AdamW(llm.parameters(), lr=1e-2, weight_decay=0.1)
    ids = torch.randint(0, VOCAB, (2, 6), generator=torch.Generator().manual_seed(0))
    logits = llm(llm.embed(ids), torch.ones_like(ids))["logits"]
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
    loss.backward()
    opt.step()

    for n, p in named.items():
        if n not in lora:
            assert torch.equal(p, before[n]), f"base parameter {n} changed"
    assert any(not torch.equal(named[n], before[n]) for n in lora), "no LoRA parameter changed"


def _prompts(llm, seed=0):
    """Two left-padded prompts of lengths 5 and 3."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (2, 5), generator=g)
    mask = torch.ones_like(ids)
    mask[1, :2] = 0
    emb = llm.embed(ids) * mask[..., None]
    return emb, mask


def test_greedy_generation_stops_at_eos():
    torch.manual_seed(0)
    llm = HFCausalLM(vocab_size=VOCAB, pad_id=0, bos_id=VOCAB - 1, eos_id=VOCAB - 1, arch="llama",
                     config=dict(FROM_CONFIG["llama"], max_position_embeddings=64)).eval()
    emb, mask = _prompts(llm)
    # first without a reachable EOS: pick an EOS/pad the model never emits
    full = llm.generate(emb, mask, max_new_tokens=8)
    seqs = [h[0]["token_int"] for h in full]
    unused = [t for t in range(1, VOCAB) if all(t not in s for s in seqs)]
    llm.eos_id, llm.pad_id = unused[0], unused[1]
    full = llm.generate(emb, mask, max_new_tokens=8)
    seqs = [h[0]["token_int"] for h in full]
    assert [len(s) for s in seqs] == [8, 8]
    for hyps in full:
        assert len(hyps) == 1 and math.isfinite(hyps[0]["score"]) and hyps[0]["score"] < 0

    # now make a token of the first hypothesis the EOS: generation stops right before it
    k = next(i for i in range(1, 8) if seqs[0][i] not in seqs[0][:i])
    llm.eos_id = seqs[0][k]
    cut = llm.generate(emb, mask, max_new_tokens=8)
    assert cut[0][0]["token_int"] == seqs[0][:k]
    assert llm.eos_id not in cut[1][0]["token_int"]
    assert all(math.isfinite(h[0]["score"]) for h in cut)
    # the stopped hypothesis scores its first k + 1 tokens (EOS included) of the full one
    assert full[0][0]["score"] - 1e-5 <= cut[0][0]["score"] < 0


def test_beam_search_nbest():
    torch.manual_seed(0)
    llm = HFCausalLM(vocab_size=VOCAB, arch="llama", config=dict(FROM_CONFIG["llama"])).eval()
    emb, mask = _prompts(llm)
    out = llm.generate(emb, mask, max_new_tokens=5, beam_size=3, nbest=2)
    assert [len(h) for h in out] == [2, 2]
    for hyps in out:
        assert all(math.isfinite(h["score"]) for h in hyps)
        assert hyps[0]["score"] >= hyps[1]["score"]
    with pytest.raises(ValueError, match="nbest"):
        llm.generate(emb, mask, beam_size=1, nbest=2)



@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_generation_without_cache_recomputes_and_matches_the_cached_one(arch):
    """use_cache=False really recomputes (transformers' generate caches regardless) and gives the
    same tokens and scores as the cached greedy search, on left-padded prompts and with an EOS."""
    torch.manual_seed(0)
    llm = HFCausalLM(vocab_size=VOCAB, pad_id=0, bos_id=VOCAB - 1, eos_id=VOCAB - 1, arch=arch,
                     config=dict(FROM_CONFIG[arch])).eval()
    emb, mask = _prompts(llm)
    cached = llm.generate(emb, mask, max_new_tokens=8)
    seen = []
    hook = llm.model.register_forward_pre_hook(
        lambda mod, args, kwargs: seen.append(kwargs["inputs_embeds"].shape[1]), with_kwargs=True)
    recomputed = llm.generate(emb, mask, max_new_tokens=8, use_cache=False)
    hook.remove()
    assert seen == [emb.shape[1] + k for k in range(len(seen))] and len(seen) > 1  # the whole sequence each step
    for c, r in zip(cached, recomputed):
        assert c[0]["token_int"] == r[0]["token_int"]
        assert abs(c[0]["score"] - r[0]["score"]) < 1e-4

    llm.eos_id = cached[0][0]["token_int"][2]  # stop the first hypothesis early
    cached = llm.generate(emb, mask, max_new_tokens=8)
    recomputed = llm.generate(emb, mask, max_new_tokens=8, use_cache=False)
    assert [h[0]["token_int"] for h in cached] == [h[0]["token_int"] for h in recomputed]
    with pytest.raises(ValueError, match="greedy search only"):
        llm.generate(emb, mask, beam_size=2, use_cache=False)
