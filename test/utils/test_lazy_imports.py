"""espnet_csst defers g2p_en and tacotron_cleaner.cleaners: no NLTK download, ~3 s less per process."""

import subprocess
import sys
import textwrap

import pytest

from espnet_csst.utils.lazy_imports import DeferredModule, defer_module
from test.csst_utils import subprocess_env


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """pkg/__init__.py imports pkg.heavy, whose import appends to pkg_log.RUNS."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg_log.py").write_text("RUNS = []\n")
    (tmp_path / "pkg" / "__init__.py").write_text("from . import heavy\n")
    (tmp_path / "pkg" / "heavy.py").write_text(textwrap.dedent("""
        import pkg_log
        pkg_log.RUNS.append("heavy")
        def answer():
            return 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("pkg", "pkg.heavy", "pkg_log"):
        sys.modules.pop(name, None)


def test_a_deferred_submodule_runs_on_first_use_only(fake_package):
    assert defer_module("pkg.heavy")
    import pkg  # its __init__ imports the stand-in, not the module's code
    import pkg_log

    assert pkg_log.RUNS == [] and isinstance(pkg.heavy, DeferredModule)
    assert pkg.heavy.__file__.endswith("heavy.py")  # metadata without loading (inspect.getmodule reads it)
    assert not hasattr(pkg.heavy, "__wrapped__") and pkg_log.RUNS == []
    assert pkg.heavy.answer() == 42 and pkg_log.RUNS == ["heavy"]
    assert not isinstance(sys.modules["pkg.heavy"], DeferredModule)
    assert pkg.heavy.answer() == 42 and pkg_log.RUNS == ["heavy"]  # loaded once


def test_an_imported_or_missing_module_is_left_alone(fake_package):
    import pkg

    assert not defer_module("pkg.heavy") and sys.modules["pkg.heavy"] is pkg.heavy
    assert not defer_module("no_such_module_anywhere")


def python_c(code: str) -> subprocess.CompletedProcess:
    """``python -c code`` with the repository importable; fails the test on a non-zero exit."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.mark.slow
def test_recipe_processes_import_espnet_without_g2p_or_nltk_downloads():
    proc = python_c("import sys, espnet_csst.tasks.csst, espnet2.train.preprocessor; "
                    "print(sorted(m for m in ('nltk', 'inflect') if m in sys.modules))")
    assert proc.stdout.splitlines()[-1] == "[]" and "nltk_data" not in proc.stderr


@pytest.mark.slow
def test_espnet_text_cleaner_still_gets_the_real_module():
    proc = python_c("import espnet_csst; from espnet2.text.cleaner import TextCleaner; "
                    "print(TextCleaner(['tacotron'])('I have 3 dogs.'))")
    assert proc.stdout.splitlines()[-1] == "I HAVE THREE DOGS."
