"""uniform_stats: two gloo ranks with different statistics keys, then ESPnet's distributed averaging.

Without uniform_stats the ranks would call all_gather for different keys and wait forever
(that is how stage B of the recipe hung under --train_launcher); with it, ESPnet's
recursive_average completes and each value is averaged over the ranks that had it.
"""

import pytest
import torch

from espnet_csst.utils.dist_stats import uniform_stats
from test.csst_utils import run_two_gloo_ranks


def _rank(rank: int, out):
    from espnet2.torch_utils.recursive_op import recursive_average

    stats = ({"loss": torch.tensor(1.0), "load_es_e0": torch.tensor(0.5), "acc": None} if rank == 0
             else {"loss": torch.tensor(3.0), "load_en_e1": torch.tensor(0.25), "acc": torch.tensor(0.75)})
    uni = uniform_stats(stats, torch.device("cpu"))
    out[f"keys{rank}"] = list(uni)
    # what ESPnet's trainer does with a batch's stats (tensors of shape (1,) after force_gatherable)
    avg, weight = recursive_average({k: v.reshape(1) for k, v in uni.items()}, torch.ones(1), distributed=True)
    out[f"avg{rank}"] = {k: float(v) for k, v in avg.items()}
    out[f"weight{rank}"] = float(weight)


@pytest.mark.slow
def test_ranks_agree_on_keys_and_espnet_averages_what_each_had():
    out = run_two_gloo_ranks(_rank)
    assert out["keys0"] == out["keys1"] == ["acc", "load_en_e1", "load_es_e0", "loss"]
    for rank in (0, 1):
        avg = out[f"avg{rank}"]
        assert avg["loss"] == 2.0  # both ranks had it
        assert avg["load_es_e0"] == 0.5 and avg["load_en_e1"] == 0.25  # only one rank had it
        assert avg["acc"] == 0.75  # None on rank 0 counts as missing, not as 0
        assert out[f"weight{rank}"] == 2.0


def test_outside_distributed_the_stats_pass_through():
    stats = {"b": None, "a": torch.tensor(1.0)}
    assert uniform_stats(stats, torch.device("cpu")) is stats
