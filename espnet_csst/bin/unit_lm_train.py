#!/usr/bin/env python3
"""Train the S2ST unit LM (source units -> target units, scheduled interleaving) with ESPnet's trainer."""

from espnet_csst.tasks.unit_lm import UnitLMTask


def get_parser():
    return UnitLMTask.get_parser()


def main(cmd=None):
    """Same options and behaviour as espnet2.bin.lm_train / st_train (see --help, --print_config)."""
    UnitLMTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
