"""Run one of ESPnet's own binaries with this package's import-time fixes.

``python -m espnet_csst.bin.run_espnet st_train ARGS`` is ``python -m espnet2.bin.st_train
ARGS``, except that ``g2p_en`` and ``tacotron_cleaner`` are imported only if used
(espnet_csst/utils/lazy_imports.py): no NLTK download attempts, about 3 s less per
process. The recipes' scripts run ESPnet's trainers and decoders through it.
"""

import runpy
import sys

import espnet_csst  # noqa: F401  (defers the imports before ESPnet is imported)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        sys.exit("usage: python -m espnet_csst.bin.run_espnet BINARY [ARGS...], e.g. st_train --help "
                 "(BINARY: a module of espnet2.bin)")
    module = f"espnet2.bin.{argv[0]}"
    sys.argv = [module, *argv[1:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
