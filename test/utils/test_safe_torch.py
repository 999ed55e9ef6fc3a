"""Safe torch loading (weights_only, everywhere) and atomic torch saving; the package's loaders audited."""

import ast
import datetime
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from espnet_csst.utils import safe_torch
from espnet_csst.utils.safe_torch import espnet_safe_io, load, save

PACKAGE = Path(__file__).resolve().parents[2] / "espnet_csst"


class WouldRunCode:
    """Unpickling this calls Path.touch(marker): what a malicious model file does, harmlessly."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def evil_file(tmp_path: Path) -> tuple:
    marker, path = tmp_path / "pwned", tmp_path / "model.pth"
    safe_torch._torch_save({"weight": torch.zeros(2), "payload": WouldRunCode(marker)}, path)
    return path, marker


def test_a_pickle_that_would_run_code_is_refused_and_does_not_run(tmp_path):
    path, marker = evil_file(tmp_path)
    with pytest.raises(RuntimeError, match=r"model\.pth: refusing to load"):
        load(path)
    with pytest.raises(RuntimeError, match="refusing"):
        load(path, weights_only=False)  # what ESPnet asks for: still refused
    assert not marker.exists()


def test_espnet_model_loading_goes_through_the_safe_loader(tmp_path, tiny_bpe):
    """CSSTTask.build_model_from_file (ESPnet's, weights_only=False inside) refuses the file too."""
    import yaml

    from espnet_csst.tasks.csst import CSSTTask
    from test.csst_utils import write_config
    from test.tasks.test_csst_task import parse

    path, marker = evil_file(tmp_path)
    args = parse(tiny_bpe, write_config(tmp_path / "train.yaml"), "--output_dir", str(tmp_path))
    config = tmp_path / "config.yaml"  # what the trainer writes: every option
    config.write_text(yaml.safe_dump(vars(args)))
    with pytest.raises(RuntimeError, match="refusing to load"):
        CSSTTask.build_model_from_file(config, path)
    assert not marker.exists()
    assert torch.load is safe_torch._torch_load  # restored afterwards


def test_checkpoints_with_numpy_scalars_and_times_still_load(tmp_path):
    state = {"model": {"w": torch.ones(3)}, "reporter": {"valid": {"acc": np.float64(0.5), "n": np.int64(3)},
                                                         "time": datetime.timedelta(seconds=3.5)},
             "dtype": np.dtype("float32")}
    save(state, tmp_path / "checkpoint.pth")
    back = load(tmp_path / "checkpoint.pth")
    assert back["reporter"]["valid"]["acc"] == 0.5 and torch.equal(back["model"]["w"], torch.ones(3))


def test_save_is_atomic(tmp_path):
    target = tmp_path / "checkpoint.pth"
    save({"step": 1}, target)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("killed while saving")

    with pytest.raises(RuntimeError, match="killed"):
        save({"step": 2, "bad": Unpicklable()}, target)
    assert load(target) == {"step": 1}  # the old checkpoint is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pth"]  # no temporary file left


def test_espnet_safe_io_patches_only_inside(tmp_path):
    with pytest.raises(ValueError):
        with espnet_safe_io():
            assert torch.load is load and torch.save is save
            raise ValueError
    assert torch.load is safe_torch._torch_load and torch.save is safe_torch._torch_save


def _calls(tree, attr: str, owner: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attr \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == owner:
            yield node


def test_the_package_loads_torch_files_with_weights_only_and_yaml_safely():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls(tree, "load", "torch"):
            kw = {k.arg: k.value for k in call.keywords}
            if path.name != "safe_torch.py" and not (
                    isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True):
                offenders.append(f"{path.relative_to(PACKAGE)}:{call.lineno}: torch.load without weights_only=True")
        for name in ("load", "unsafe_load", "full_load", "load_all"):
            for call in _calls(tree, name, "yaml"):
                offenders.append(f"{path.relative_to(PACKAGE)}:{call.lineno}: yaml.{name} (use yaml.safe_load)")
    assert not offenders, "\n".join(offenders)


def test_remote_code_is_off_by_default():
    from espnet_csst.encoders.hf_whisper import HFWhisperEncoder
    from espnet_csst.llm.hf_causal_lm import HFCausalLM

    for cls in (HFCausalLM, HFWhisperEncoder):
        assert inspect.signature(cls.__init__).parameters["trust_remote_code"].default is False
    sources = [p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")]
    assert not any("trust_remote_code=True" in s for s in sources)


def test_a_model_file_that_does_not_fit_its_token_list_is_named(tmp_path, tiny_bpe):
    import yaml

    from espnet_csst.tasks.csst import CSSTTask
    from test.csst_utils import write_config
    from test.tasks.test_csst_task import parse

    args = parse(tiny_bpe, write_config(tmp_path / "train.yaml"), "--output_dir", str(tmp_path))
    model = CSSTTask.build_model(args)
    save(model.state_dict(), tmp_path / "model.pth")
    args.token_list = args.token_list[:-2] + args.token_list[-1:]  # one token fewer than at training
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    with pytest.raises(ValueError, match=r"model\.pth does not fit .*config\.yaml: size mismatch"):
        CSSTTask.build_model_from_file(tmp_path / "config.yaml", tmp_path / "model.pth")
