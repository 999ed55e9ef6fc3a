"""Every training config shipped in egs2 (csst1, s2st_lm1) names registered classes with parameters they take.

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


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_config_parses_with_the_task_parser(path, tmp_path):
    """Every value goes through CSSTTask's own argparse (choices, types), as csst_train reads it:
    `frontend: null` of a Whisper config was refused here before the frontend was optional."""
    (tmp_path / "tokens.txt").write_text("<blank>\n<unk>\na\n<sos/eos>\n")
    args = task.CSSTTask.get_parser().parse_args(["--config", str(path), "--token_list", str(tmp_path / "tokens.txt"),
                                                  "--output_dir", str(tmp_path / "out")])
    conf = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert args.encoder == conf["encoder"] and args.projector == conf["projector"]
    assert args.frontend == conf.get("frontend", "default")


def test_covost2_is_the_real_ai_sta_setting():
    conf = yaml.safe_load((REPO / "egs2/covost2/csst1/conf/train_csst.yaml").read_text(encoding="utf-8"))
    assert conf["encoder"] == "whisper_hf" and conf["encoder_conf"]["model_name_or_path"]
    assert conf["llm_conf"]["model_name_or_path"] and conf["llm_conf"]["lora"]["r"] > 0
    run_sh = (REPO / "egs2/covost2/csst1/run.sh").read_text(encoding="utf-8")
    assert "--use_ot_align true" in run_sh and "--train_stages \"A C\"" in run_sh


UNIT_LM_CONFIGS = sorted((REPO / "egs2").glob("*/s2st_lm1/conf/train_unit_lm*.yaml"))


@pytest.mark.parametrize("path", UNIT_LM_CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_unit_lm_config_keys_match_the_classes(path):
    from peft import LoraConfig

    from espnet_csst.tasks import unit_lm

    conf = yaml.safe_load(path.read_text(encoding="utf-8"))
    llm = unit_lm.llm_choices.get_class(conf.get("llm", "hf_causal_lm"))
    unknown = set(conf.get("llm_conf") or {}) - parameters(llm)
    assert not unknown, f"{path}: llm_conf keys {sorted(unknown)} are not parameters of {llm.__name__}"
    lora = (conf.get("llm_conf") or {}).get("lora") or {}
    assert not set(lora) - set(LoraConfig.__dataclass_fields__), f"{path}: unknown LoRA keys"
    model = unit_lm.model_choices.get_class(conf.get("model", "unit_lm"))
    unknown = set(conf.get("model_conf") or {}) - parameters(model)
    assert not unknown, f"{path}: model_conf keys {sorted(unknown)} are not parameters of {model.__name__}"


def test_cvss_is_the_papers_s2st_setting():
    assert {p.parent.parent.parent.name for p in UNIT_LM_CONFIGS} == {"cvss", "mini_cs"}
    conf = yaml.safe_load((REPO / "egs2/cvss/s2st_lm1/conf/train_unit_lm.yaml").read_text(encoding="utf-8"))
    assert "Llama-3.2-1B" in conf["llm_conf"]["model_name_or_path"] and conf["llm_conf"]["lora"]["r"] > 0
    mc = conf["model_conf"]
    assert (mc["interleave_schedule"], mc["interleave_p0"], mc["interleave_delta"], mc["interleave_interval"]) == \
        ("step", 0.9, 0.1, 300)
    run_sh = (REPO / "egs2/cvss/s2st_lm1/run.sh").read_text(encoding="utf-8")
    assert "--feature_type hf_ssl" in run_sh and "--token_type hugging_face" in run_sh


def test_cvss_vocoder_is_a_unit_hifigan_over_deduplicated_hubert_units():
    from espnet_csst.bin.train_unit_vocoder import read_model_options
    from espnet_csst.units.hifigan import UnitHiFiGAN, UnitHiFiGANTrainer

    run_sh = (REPO / "egs2/cvss/s2st_lm1/run.sh").read_text(encoding="utf-8")
    assert "--vocoder_type hifigan" in run_sh and "--dedup true" in run_sh
    options = read_model_options(REPO / "egs2/cvss/s2st_lm1/conf/vocoder_hifigan.yaml", "hifigan")
    disc = options.pop("discriminator")
    model = UnitHiFiGAN(500, 320, duration_predictor=True, **options)  # HuBERT: one unit per 20 ms
    UnitHiFiGANTrainer(model, disc)
    assert sum(p.numel() for p in model.generator.parameters()) > 10e6  # the paper-size generator


@pytest.mark.parametrize("path", UNIT_LM_CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_unit_lm_config_parses_with_the_task_parser(path, tmp_path):
    from espnet_csst.tasks import unit_lm

    (tmp_path / "tokens.txt").write_text("<blank>\n<unk>\na\n<sos/eos>\n")
    args = unit_lm.UnitLMTask.get_parser().parse_args(
        ["--config", str(path), "--token_list", str(tmp_path / "tokens.txt"), "--n_units", "8",
         "--output_dir", str(tmp_path / "out")])
    assert args.model == yaml.safe_load(path.read_text(encoding="utf-8")).get("model", "unit_lm")
