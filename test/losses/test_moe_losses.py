"""MoE auxiliary losses: language CE with masking, Switch-style intra-group balance."""

import torch

from espnet_csst.losses.moe_losses import balance_loss, language_loss, routing_stats, token_labels
from espnet_csst.projectors.moe import Routing


def routing_from(group_logits, expert_probs, mask=None, top_k=1):
    b, t, g, e = expert_probs.shape
    return Routing(group_logits=group_logits, expert_probs=expert_probs,
                   topk_index=expert_probs.topk(top_k, dim=-1).indices,
                   group_weights=group_logits.softmax(-1),
                   mask=torch.ones(b, t, dtype=torch.bool) if mask is None else mask)


def test_balance_is_one_for_even_routing_and_num_experts_when_collapsed():
    e = 4
    # 8 tokens per group, each expert chosen by two of them with near-uniform probabilities
    probs = torch.full((1, 16, 2, e), 1.0 / e)
    probs[0, torch.arange(16), :, torch.arange(16) % e] += 1e-3
    probs = probs / probs.sum(-1, keepdim=True)
    labels = torch.tensor([[0] * 8 + [1] * 8])
    even = balance_loss(routing_from(torch.randn(1, 16, 2), probs), labels)
    torch.testing.assert_close(even, torch.tensor(1.0), atol=2e-3, rtol=0)

    collapsed = torch.zeros(1, 16, 2, e)
    collapsed[..., 0] = 1.0
    worst = balance_loss(routing_from(torch.randn(1, 16, 2), collapsed), labels)
    torch.testing.assert_close(worst, torch.tensor(float(e)))
    # within each group, two experts share the tokens: E * (1/2 * 1/2 + 1/2 * 1/2) = 2
    half = torch.zeros(1, 16, 2, e)
    half[0, torch.arange(16), :, torch.arange(16) // 4 % 2] = 1.0
    torch.testing.assert_close(balance_loss(routing_from(torch.randn(1, 16, 2), half), labels),
                               torch.tensor(2.0))


def test_balance_groups_unlabelled_tokens_by_the_router():
    probs = torch.zeros(1, 4, 2, 2)
    probs[0, :, 0, 0] = 1.0   # group 0: everything on expert 0 (collapsed)
    probs[0, :, 1] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # group 1: even
    probs[0, :, 0, 1] = 0.0
    logits = torch.tensor([[[0.0, 5.0]] * 4])   # the router puts every token in group 1
    unlabelled = torch.full((1, 4), -1)
    # all tokens count for group 1 only, where routing is even
    torch.testing.assert_close(balance_loss(routing_from(logits, probs), unlabelled), torch.tensor(1.0))
    # labelled as group 0, they count there, where routing collapsed
    torch.testing.assert_close(balance_loss(routing_from(logits, probs), torch.zeros(1, 4, dtype=torch.long)),
                               torch.tensor(2.0))


def test_language_loss_ignores_unlabelled_and_padded_tokens():
    logits = torch.randn(2, 5, 3, requires_grad=True)
    labels = torch.tensor([[0, 1, -1, 2, 0], [2, -1, 1, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    loss = language_loss(routing_from(logits, torch.rand(2, 5, 3, 2).softmax(-1), mask), labels)
    loss.backward()
    no_grad = ~mask | (labels < 0)
    assert logits.grad[no_grad].abs().sum() == 0
    assert (logits.grad[~no_grad].abs().sum(-1) > 0).all()
    keep = mask & (labels >= 0)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits[keep], labels[keep]))
    assert language_loss(routing_from(logits, torch.rand(2, 5, 3, 2), mask), torch.full((2, 5), -1)) is None


def test_routing_stats_accuracy_and_load():
    logits = torch.tensor([[[3.0, 0.0], [3.0, 0.0], [0.0, 3.0], [0.0, 3.0]]])
    probs = torch.zeros(1, 4, 2, 2)
    probs[0, :, :, 0] = torch.tensor([[0.9, 0.9], [0.2, 0.2], [0.9, 0.9], [0.9, 0.9]])
    probs[..., 1] = 1 - probs[..., 0]
    stats = routing_stats(routing_from(logits, probs), torch.tensor([[0, 0, 0, 1]]), ["es", "en"])
    torch.testing.assert_close(stats["route_acc"], torch.tensor(0.75))
    torch.testing.assert_close(stats["route_acc_es"], torch.tensor(2 / 3))
    torch.testing.assert_close(stats["route_acc_en"], torch.tensor(1.0))
    # group 0 (tokens 0-2): experts 0, 1, 0; group 1 (token 3): expert 0
    torch.testing.assert_close(stats["load_es_e0"], torch.tensor(2 / 3))
    torch.testing.assert_close(stats["load_es_e1"], torch.tensor(1 / 3))
    torch.testing.assert_close(stats["load_en_e0"], torch.tensor(1.0))


def test_token_labels_take_the_majority_language_of_their_frames():
    # 12 frames -> 4 tokens of 3 frames: es es es | es en en | - - en | en en -
    frames = torch.tensor([[0, 0, 0, 0, 1, 1, -1, -1, 1, 1, 1, -1],
                           [1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1]])
    got = token_labels(frames, torch.tensor([12, 6]), torch.tensor([4, 2]), num_tokens=4, num_groups=2)
    # second utterance: 6 frames over 2 tokens, padding tokens stay unlabelled
    assert got.tolist() == [[0, 1, -1, 1], [1, 1, -1, -1]]
    # more tokens than frames: each token still reads at least one frame
    got = token_labels(torch.tensor([[0, 1]]), torch.tensor([2]), torch.tensor([4]), num_tokens=4, num_groups=2)
    assert got.tolist() == [[0, 0, 1, 1]]
