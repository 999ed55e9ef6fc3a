"""egs2/TEMPLATE/csst1/scripts/utils/run_record.sh: the record of finished runs that
local/run_ablation.sh and local/tune_transition.sh keep in git (doc/moe.md)."""

import subprocess
from pathlib import Path

UTILS = Path(__file__).resolve().parents[2] / "egs2" / "TEMPLATE" / "csst1" / "scripts" / "utils"


def bash(cwd: Path, script: str) -> subprocess.CompletedProcess:
    """Run SCRIPT in bash with data_lib.sh and run_record.sh sourced, in CWD."""
    prelude = f'set -euo pipefail; . "{UTILS}/data_lib.sh"; . "{UTILS}/run_record.sh"\n'
    return subprocess.run(["bash", "-c", prelude + script], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_a_run_is_recorded_in_one_step_with_its_settings_and_machine(tmp_path):
    proc = bash(tmp_path, """
        dir="$(record_dir runs b 2)"
        tmp="$(record_begin "${dir}")"
        echo "hello" > "${tmp}/hyp"
        [ ! -e "${dir}" ]  # nothing there until it is complete
        record_finish "${dir}" "$(printf 'system: b\\nseed: 2')"
    """)
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "runs" / "b" / "seed2"
    assert (run / "hyp").read_text() == "hello\n" and not (tmp_path / "runs" / "b" / "seed2.partial").exists()
    assert (run / "settings.txt").read_text() == "system: b\nseed: 2\n"
    machine = (run / "machine.txt").read_text()
    assert "cpu: " in machine and "AVX512-BF16: " in machine and "bf16 autocast with cpu_bf16 auto: " in machine


def test_other_settings_than_the_recorded_ones_stop_with_the_differing_lines(tmp_path):
    run = tmp_path / "runs" / "b" / "seed0"
    run.mkdir(parents=True)
    (run / "settings.txt").write_text("system: b\nseed: 0\nepochs: 6\n")
    same = bash(tmp_path, "record_check_settings runs/b/seed0 \"$(printf 'system: b\\nseed: 0\\nepochs: 6')\"")
    assert same.returncode == 0, same.stderr
    other = bash(tmp_path, "record_check_settings runs/b/seed0 \"$(printf 'system: b\\nseed: 0\\nepochs: 2')\"")
    assert other.returncode != 0
    assert "runs/b/seed0 was trained with other settings" in other.stderr
    assert "< epochs: 2" in other.stderr and "> epochs: 6" in other.stderr and "Move runs/b/seed0 away" in other.stderr


def test_references_are_kept_once_and_another_corpus_is_refused(tmp_path):
    (tmp_path / "ref_a").write_text("u1 hello\n")
    (tmp_path / "ref_b").write_text("u1 hola\n")
    assert bash(tmp_path, "record_keep_ref runs test_cs ref_a; record_keep_ref runs test_cs ref_a").returncode == 0
    assert (tmp_path / "runs" / "refs" / "test_cs").read_text() == "u1 hello\n"
    other = bash(tmp_path, "record_keep_ref runs test_cs ref_b")
    assert other.returncode != 0 and "ref_b differs from runs/refs/test_cs" in other.stderr
    assert (tmp_path / "runs" / "refs" / "test_cs").read_text() == "u1 hello\n"  # kept as it was
    # a reference that this checkout has not made is no error: there is nothing to compare
    assert bash(tmp_path, "record_keep_ref runs dev_cs no_such_file").returncode == 0
