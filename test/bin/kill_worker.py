"""csst_train that SIGKILLs itself mid-epoch: at the 2nd training batch after the first checkpoint.

``python test/bin/kill_worker.py OUTPUT_DIR -- <csst_train args>``: once ``OUTPUT_DIR/checkpoint.pth``
exists (the end of epoch 1), the process kills itself with SIGKILL (no cleanup, no atexit) in
the middle of epoch 2, right after one more update.
"""

import os
import signal
import sys
from pathlib import Path

from espnet_csst.bin.csst_train import main
from espnet_csst.models.csst_model import ESPnetCSSTModel

exp, args = Path(sys.argv[1]), sys.argv[sys.argv.index("--") + 1:]
original_forward = ESPnetCSSTModel.forward
seen = {"after_checkpoint": 0}


def forward_then_maybe_die(self, *a, **kw):
    if self.training and (exp / "checkpoint.pth").exists():
        seen["after_checkpoint"] += 1
        if seen["after_checkpoint"] == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    return original_forward(self, *a, **kw)


ESPnetCSSTModel.forward = forward_then_maybe_die
main(args)
