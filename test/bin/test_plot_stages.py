"""plot_stages: which panels a set of ESPnet train.log files gives, OT layers included."""

from pathlib import Path

from espnet_csst.bin import plot_stages


def write_log(path: Path, lines) -> Path:
    path.write_text("".join(f"[host] 2026-12-01 (trainer:1) INFO: {ln}\n" for ln in lines), encoding="utf-8")
    return path


def test_ot_layers_get_their_own_panel_in_layer_order(tmp_path):
    a = write_log(tmp_path / "a.log", ["1epoch:train:1-10batch: loss=5.0, loss_ce=4.0, acc=0.1",
                                       "1epoch:train:11-20batch: loss=4.0, loss_ce=3.5, acc=0.2"])
    # stage B aligns layers 10 and 2: loss_ot_l10 must come after loss_ot_l2
    b = write_log(tmp_path / "b.log", [
        "1epoch:train:1-10batch: loss=3.0, loss_ot=0.5, loss_ot_l10=0.6, loss_ot_l2=0.4, transition_weight=1.0",
        "1epoch:train:11-20batch: loss=2.5, loss_ot=0.4, loss_ot_l10=0.5, loss_ot_l2=0.3, transition_weight=0.5"])
    stages = [("A", plot_stages.parse_log(a)), ("B", plot_stages.parse_log(b))]
    panels = dict(plot_stages.panels_for(stages))
    assert panels["OT loss per layer"] == ("loss_ot", "loss_ot_l2", "loss_ot_l10")
    assert panels["loss"] == ("loss", "loss_ce") and panels["transition weight"] == ("transition_weight",)
    assert "MoE losses" not in panels  # no MoE statistics in these logs
    out = tmp_path / "images" / "stages.png"
    assert plot_stages.main(["--out", str(out), f"A={a}", f"B={b}"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_ot_there_is_no_ot_panel(tmp_path):
    a = write_log(tmp_path / "a.log", ["1epoch:train:1-10batch: loss=5.0, loss_lang=0.7, loss_balance=1.0"])
    panels = dict(plot_stages.panels_for([("A", plot_stages.parse_log(a))]))
    assert set(panels) == {"loss", "MoE losses"}
