"""MoE projector: batched dispatch against a token-by-token reference, routing, gradients."""

import pytest
import torch

from espnet_csst.projectors.moe import MoEProjector, naive_moe_reference


def make(top_k=1, **kw):
    torch.manual_seed(0)
    return MoEProjector(input_size=6, output_size=5, languages=("es", "en", "zh"), num_experts=4,
                        top_k=top_k, downsample=2, hidden_size=8, **kw)


@pytest.mark.parametrize("top_k", [1, 2])
def test_batched_dispatch_equals_token_by_token_reference(top_k):
    proj = make(top_k).eval()
    x = torch.randn(3, 9, 6)
    lens = torch.tensor([9, 4, 7])
    y, y_lens = proj(x, lens)
    assert y_lens.tolist() == [5, 2, 4]
    ref = naive_moe_reference(proj, x, lens)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
    assert y[1, 2:].abs().sum() == 0 and y[2, 4:].abs().sum() == 0  # padded tokens stay zero


def test_hard_group_at_inference_uses_only_the_argmax_group():
    proj = make(hard_group_at_inference=True)
    x, lens = torch.randn(2, 8, 6), torch.tensor([8, 6])
    proj.eval()
    y, _, routing = proj.forward_with_routing(x, lens)
    torch.testing.assert_close(y, naive_moe_reference(proj, x, lens, hard_group=True), atol=1e-5, rtol=1e-5)
    w = routing.group_weights[routing.mask]
    assert torch.equal(w.max(-1).values, torch.ones(w.size(0))) and torch.equal(w.sum(-1), torch.ones(w.size(0)))
    proj.train()  # soft mixing in training, whatever the option says
    y_soft, _, routing = proj.forward_with_routing(x, lens)
    assert bool((routing.group_weights[routing.mask] < 1).all())
    torch.testing.assert_close(y_soft, naive_moe_reference(proj, x, lens, hard_group=False), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("top_k", [1, 3])
def test_topk_weights_renormalise(top_k):
    proj = make(top_k)
    # one expert per group alone, at output = its weight: FFNs that output the constant 1
    with torch.no_grad():
        proj.w2.zero_()
        proj.b2.fill_(1.0)
    y, _ = proj(torch.randn(2, 6, 6), torch.tensor([6, 6]))
    # sum_g pi_g * sum_k w_gk * 1 == 1 only when the top-k weights of each group sum to 1
    torch.testing.assert_close(y, torch.ones_like(y))


def test_every_part_gets_gradients_and_routing_is_reported():
    proj = make(top_k=2)
    x = torch.randn(4, 10, 6, requires_grad=True)
    y, lens, routing = proj.forward_with_routing(x, torch.tensor([10, 10, 8, 3]))
    (y.pow(2).sum() + routing.group_logits.sum()).backward()
    for name, p in proj.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0
    assert routing.group_logits.shape == (4, 5, 3) and routing.expert_probs.shape == (4, 5, 3, 4)
    assert routing.topk_index.shape == (4, 5, 3, 2) and routing.mask.sum() == 5 + 5 + 4 + 2


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match="top_k"):
        MoEProjector(4, 4, languages=("es", "en"), num_experts=2, top_k=3)
    with pytest.raises(ValueError, match="distinct languages"):
        MoEProjector(4, 4, languages=("es", "es"))
    with pytest.raises(ValueError, match="no expert group.*'es', 'en'"):
        MoEProjector(4, 4, languages=("es", "en")).language_index("zh")


def test_an_idle_expert_gets_a_zero_gradient_not_none():
    """What data-parallel training relies on: experts are slices of stacked parameters, so an
    expert that no token chose still has a gradient (zeros) and DDP needs no unused-parameter scan."""
    proj = make(top_k=1)
    with torch.no_grad():  # every token picks expert 0 of its group
        proj.expert_router.weight.zero_()
        proj.expert_router.bias.copy_(torch.tensor([5.0, 0.0, 0.0, 0.0] * 3))
    y, _, routing = proj.forward_with_routing(torch.randn(2, 6, 6), torch.tensor([6, 4]))
    assert bool((routing.topk_index[routing.mask] == 0).all())
    y.pow(2).sum().backward()
    for p in (proj.w1, proj.b1, proj.w2, proj.b2):
        assert p.grad is not None
        idle = p.grad.view(3, 4, *p.shape[1:])[:, 1:]  # (groups, experts 1-3, ...)
        assert torch.count_nonzero(idle) == 0
        assert torch.count_nonzero(p.grad.view(3, 4, *p.shape[1:])[:, 0]) > 0
