"""The config reference (doc/config_reference.md) is generated from the code and kept up to date."""

import inspect
from pathlib import Path

from espnet_csst.bin import make_config_reference
from espnet_csst.projectors.moe import MoEProjector

REFERENCE = Path(__file__).resolve().parents[2] / "doc" / "config_reference.md"


def test_the_committed_reference_is_what_the_code_generates():
    assert REFERENCE.read_text(encoding="utf-8") == make_config_reference.reference(), (
        "doc/config_reference.md is out of date: run "
        "`python -m espnet_csst.bin.make_config_reference --out doc/config_reference.md`")


def test_a_new_parameter_changes_the_reference(monkeypatch):
    before = make_config_reference.reference()
    original = MoEProjector.__init__

    def __init__(self, *args, capacity_factor: float = 1.25, **kwargs):  # a parameter the class gains
        original(self, *args, **kwargs)

    params = list(inspect.signature(original).parameters.values())
    __init__.__signature__ = inspect.Signature(
        params + [inspect.Parameter("capacity_factor", inspect.Parameter.KEYWORD_ONLY, default=1.25,
                                    annotation=float)])
    monkeypatch.setattr(MoEProjector, "__init__", __init__)
    after = make_config_reference.reference()
    assert after != before and "| `capacity_factor` | `1.25` | `float` |" in after
    assert "capacity_factor" not in REFERENCE.read_text(encoding="utf-8")


def test_every_project_class_of_the_registries_is_listed():
    from espnet_csst.tasks.csst import CSSTTask
    from espnet_csst.tasks.unit_lm import UnitLMTask

    text = REFERENCE.read_text(encoding="utf-8")
    for task in (CSSTTask, UnitLMTask):
        for choices in task.class_choices_list:
            for name, cls in choices.classes.items():
                assert f"`{choices.name}: {name}`" in text, (choices.name, name)
                if cls.__module__.startswith("espnet_csst"):
                    for p in inspect.signature(cls.__init__).parameters:
                        if p not in ("self", "args", "kwargs"):
                            assert f"| `{p}` |" in text, (cls.__name__, p)
