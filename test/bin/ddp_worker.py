"""One rank of the 2-process data-parallel test: csst_train, then this rank's final weights to a file.

Launched by ``python -m torch.distributed.run --nproc_per_node 2 test/bin/ddp_worker.py OUT -- <csst_train args>``.
ESPnet writes checkpoints on rank 0 only, so to compare the ranks this wrapper
saves the model each rank holds when ``Trainer.run`` returns.
"""

import os
import sys
from pathlib import Path

import torch
from espnet2.train.trainer import Trainer

from espnet_csst.bin.csst_train import main

out_dir, args = Path(sys.argv[1]), sys.argv[sys.argv.index("--") + 1:]
original_run = Trainer.run.__func__


def run_and_save(cls, model, *a, **kw):
    rank = int(os.environ["RANK"])
    torch.save({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, out_dir / f"init_rank{rank}.pth")
    original_run(cls, model, *a, **kw)
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, out_dir / f"rank{rank}.pth")


Trainer.run = classmethod(run_and_save)
main(args)
