"""Every training config shipped in egs2/*/csst1 names registered classes with parameters they take.

The real-setting configs (CoVoST 2: pretrained Whisper and LLM) cannot be built
offline; this checks each role's ``*_conf`` keys against the class signature, so a
typo or a renamed parameter fails here instead of after loading a 1B-parameter LLM.
"""

import inspect
from pathlib import Path

import pytest
import yaml

from espnet_csst.tasks import csst as task

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in (REPO / "egs2").glob("*/csst1/conf/**/train_csst*.yaml"))
ROLES = {"frontend": task.frontend_choices, "specaug": task.specaug_choices, "normalize": task.normalize_choices,
         "encoder": task.encoder_choices, "projector": task.projector_choices, "llm": task.llm_choices}


def parameters(cls):
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


def test_the_real_and_mini_configs_are_found():
    names = {str(p.relative_to(REPO)) for p in CONFIGS}
    assert "egs2/covost2/csst1/conf/train_csst.yaml" in names and "egs2/mini_cs/csst1/conf/train_csst.yaml" in names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_config_keys_match_the_classes(path):
    conf = yaml.safe_load(path.read_text(encoding="utf-8"))
    for role, choices in ROLES.items():
        name = conf.get(role, choices.default)
        if name is None:
            continue
        cls = choices.get_class(name)
        unknown = set(conf.get(f"{role}_conf") or {}) - parameters(cls)
        assert not unknown, f"{path}: {role}_conf keys {sorted(unknown)} are not parameters of {cls.__name__}"
    unknown = set(conf.get("model_conf") or {}) - parameters(task.ESPnetCSSTModel)
    assert not unknown, f"{path}: model_conf keys {sorted(unknown)} are not parameters of ESPnetCSSTModel"


def test_covost2_is_the_real_ai_sta_setting():
    conf = yaml.safe_load((REPO / "egs2/covost2/csst1/conf/train_csst.yaml").read_text(encoding="utf-8"))
    assert conf["encoder"] == "whisper_hf" and conf["encoder_conf"]["model_name_or_path"]
    assert conf["llm_conf"]["model_name_or_path"] and conf["llm_conf"]["lora"]["r"] > 0
    run_sh = (REPO / "egs2/covost2/csst1/run.sh").read_text(encoding="utf-8")
    assert "--use_ot_align true" in run_sh and "--train_stages \"A C\"" in run_sh
