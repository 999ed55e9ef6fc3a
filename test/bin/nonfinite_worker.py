"""csst_train with one non-finite loss injected: the LLM's logits of the 2nd training batch are NaN.

``python test/bin/nonfinite_worker.py OUT -- <csst_train args>``. Writes ``OUT/nonfinite.json``:
how many training forwards ran, and whether the weights after the poisoned step equal those
before it (the update was skipped).
"""

import json
import sys
from pathlib import Path

import torch

from espnet_csst.bin.csst_train import main
from espnet_csst.llm.hf_causal_lm import HFCausalLM
from espnet_csst.models.csst_model import ESPnetCSSTModel

out_dir, args = Path(sys.argv[1]), sys.argv[sys.argv.index("--") + 1:]
original_llm_forward, original_forward = HFCausalLM.forward, ESPnetCSSTModel.forward
state = {"calls": 0, "before": None, "skipped": None}


def params(model):
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def counting_forward(self, *a, **kw):
    if self.training:
        state["calls"] += 1
        if state["calls"] == 2:
            state["before"] = params(self)
        elif state["calls"] == 3:  # the step after the poisoned one: were its weights updated?
            state["skipped"] = all(torch.equal(v, state["before"][k]) for k, v in self.named_parameters())
    return original_forward(self, *a, **kw)


def poisoned_llm_forward(self, *a, **kw):
    out = original_llm_forward(self, *a, **kw)
    if self.training and state["calls"] == 2:
        out = dict(out, logits=out["logits"] * float("nan"))
    return out


ESPnetCSSTModel.forward, HFCausalLM.forward = counting_forward, poisoned_llm_forward
main(args)
(out_dir / "nonfinite.json").write_text(json.dumps({"calls": state["calls"], "skipped": state["skipped"]}))
