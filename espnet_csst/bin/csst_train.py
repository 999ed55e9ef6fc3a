#!/usr/bin/env python3
"""Train a CSST model (speech encoder -> projector -> LLM) with ESPnet's trainer."""

from espnet_csst.tasks.csst import CSSTTask


def get_parser():
    return CSSTTask.get_parser()


def main(cmd=None):
    """Same options and behaviour as espnet2.bin.st_train (see --help, --print_config)."""
    CSSTTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
