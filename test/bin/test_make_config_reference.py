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


# ------------------------------------------------------------------ the method pages
METHOD_PAGES = ("moe.md", "ot_align.md", "s2st.md")


def _norm(value: str) -> str:
    value = value.strip().strip("`").strip()
    value = value.strip("'\"") if value.count("'") == 2 or value.count('"') == 2 else value
    return {"-": "None", "true": "True", "false": "False"}.get(value, value)


def reference_defaults() -> dict:
    """key -> the defaults it has in the reference (one key can belong to several classes)."""
    out: dict = {}
    for row in REFERENCE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if row.startswith("| `") and len(cells) >= 2:
            out.setdefault(cells[0].strip("`"), set()).add(_norm(cells[1]))
    return out


def method_page_keys(page: Path):
    """(key, default) of every row of the page's `| key | default | ... |` tables."""
    in_table = False
    for row in page.read_text(encoding="utf-8").splitlines():
        if row.startswith("| key | default |"):
            in_table = True
            continue
        if not row.startswith("|"):
            in_table = False
        if not in_table or row.startswith("|---"):
            continue
        keys_cell, default_cell = [c.strip() for c in row.strip().strip("|").split("|")][:2]
        keys = [k.strip().strip("`") for k in keys_cell.split(",")]
        defaults = [default_cell] if len(keys) == 1 else [d.strip() for d in default_cell.split(",")]
        assert len(defaults) == len(keys), f"{page.name}: {row}"
        yield from zip(keys, (_norm(d) for d in defaults))


def test_method_pages_name_real_keys_with_their_defaults():
    ref = reference_defaults()
    seen = 0
    for name in METHOD_PAGES:
        for key, default in method_page_keys(REFERENCE.parent / name):
            assert key in ref, f"doc/{name} documents `{key}`, which no class has (doc/config_reference.md)"
            assert default in ref[key], f"doc/{name}: `{key}` defaults to {sorted(ref[key])}, not {default}"
            seen += 1
    assert seen >= 20
