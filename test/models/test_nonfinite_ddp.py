"""flag_nonfinite_loss under DDP: a NaN batch on one rank, whose graph leaves parameters out,
must not put the ranks out of step (as it did in the recipe's stage B under --train_launcher)."""

import pytest
import torch

from espnet_csst.models.csst_model import flag_nonfinite_loss
from test.csst_utils import run_two_gloo_ranks


class TwoPart(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Linear(3, 3)
        self.b = torch.nn.Linear(3, 1)

    def forward(self, x, nan: bool):
        if nan:  # what a NaN forward can do: only part of the model in the graph, a NaN loss
            loss = self.a(x).sum() * float("nan")
        else:
            loss = self.b(self.a(x)).pow(2).mean()
        stats = {}
        return flag_nonfinite_loss(self, loss, stats), stats


def _rank(rank: int, out):
    model = torch.nn.parallel.DistributedDataParallel(TwoPart())
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(rank))
    for step in range(3):
        optim.zero_grad()
        loss, stats = model(x, nan=(rank == 1 and step == 0))
        loss.backward()
        optim.step()
        out[f"flag{rank}_{step}"] = stats["nonfinite_loss"]
    out[f"weights{rank}"] = [p.detach().clone() for p in model.module.parameters()]


@pytest.mark.slow
def test_a_nan_batch_on_one_rank_keeps_the_ranks_in_step():
    out = run_two_gloo_ranks(_rank)
    assert out["flag1_0"] == 1.0 and out["flag0_0"] == 0.0 and out["flag1_1"] == 0.0
    for w0, w1 in zip(out["weights0"], out["weights1"]):
        assert torch.isfinite(w0).all() and torch.equal(w0, w1)


def test_outside_ddp_the_nan_loss_is_returned_for_espnet_to_skip():
    model = TwoPart()
    loss, stats = model(torch.ones(2, 3), nan=True)
    assert torch.isnan(loss) and stats["nonfinite_loss"] == 1.0 and model.n_nonfinite_loss == 1
