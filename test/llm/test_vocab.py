import pytest
import torch

from espnet_csst.llm.hf_causal_lm import HFCausalLM
from espnet_csst.llm.vocab import extend_vocabulary

CFG = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
           num_key_value_heads=2, max_position_embeddings=64)


@pytest.mark.parametrize("tied", [True, False])
def test_extension_keeps_the_original_rows(tied):
    torch.manual_seed(0)
    llm = HFCausalLM(vocab_size=50, config=dict(CFG, tie_word_embeddings=tied))
    emb = llm.embed_table().detach().clone()
    head = llm.model.get_output_embeddings().weight.detach().clone()
    first = extend_vocabulary(llm.model, 20)
    assert first == 50
    new_emb = llm.embed_table()
    assert new_emb.shape == (70, 32)
    assert torch.equal(new_emb[:50], emb)
    assert torch.equal(llm.model.get_output_embeddings().weight[:50], head)
    assert torch.isfinite(new_emb[50:]).all()
    # mean resizing: the new rows sit near the old rows' mean, not at zero or far out
    assert (new_emb[50:].mean(0) - emb.mean(0)).norm() < 3 * emb.std(0).norm()
    ids = torch.tensor([[1, 2, 55, 69]])
    assert llm(llm.embed(ids), torch.ones_like(ids))["logits"].shape == (1, 4, 70)


def test_extra_tokens_in_the_wrapper_and_lora_keeps_them_trainable():
    llm = HFCausalLM(vocab_size=50, config=CFG, extra_tokens=10)
    assert (llm.extra_token_offset, llm.vocab_size()) == (50, 60)
    lora = HFCausalLM(vocab_size=50, config=CFG, extra_tokens=10,
                      lora=dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    ids = torch.tensor([[1, 55]])
    loss = lora(lora.embed(ids), torch.ones_like(ids))["logits"][0, -1, 55]
    loss.backward()
    grads = [n for n, p in lora.named_parameters() if p.requires_grad and p.grad is not None
             and "trainable_tokens" in n]
    assert grads, "the new token rows must get gradients under LoRA"


def test_freezing_with_new_tokens_is_refused():
    with pytest.raises(ValueError, match="untrained"):
        HFCausalLM(vocab_size=50, config=CFG, extra_tokens=4, freeze=True)
