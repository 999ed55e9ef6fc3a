"""Third-party imports that ESPnet makes eagerly and this package defers.

``espnet2.text.phoneme_tokenizer`` imports ``g2p_en`` at the top of the module,
and ESPnet's preprocessor, collate function and every task import that module.
Importing ``g2p_en`` calls ``nltk.download`` for its tagger and pronunciation
dictionary when they are missing: on a machine without internet every
training, statistics and decoding process of a recipe printed the failed
downloads. ``espnet2.text.cleaner`` imports ``tacotron_cleaner.cleaners``, which
builds an ``inflect`` engine at import. The two cost about 3 s of the 6-8 s
that a recipe process spends importing (``python -X importtime``). Nothing in
this package uses them; an ESPnet config with ``g2p: g2p_en`` or ``cleaner:
tacotron`` still gets them, since the real module is imported on the first use
of one of its names.

This is the project's one import-time intervention (DESIGN.md section 1: the
documented last resort). It patches nothing in ESPnet: ``sys.modules`` holds a
stand-in module until the real one is needed. The standard library's
``importlib.util.LazyLoader`` is not enough here: it loads on *any* attribute,
and ``inspect.getmodule`` (which torch calls while registering its operators)
reads ``__file__`` of every module in ``sys.modules``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types

DEFERRED = ("g2p_en", "tacotron_cleaner.cleaners")


class DeferredModule(types.ModuleType):
    """Answers the module's metadata (``__file__``, ``__spec__``, ...) itself; any other name
    imports the real module, which then replaces this one in ``sys.modules``."""

    def __init__(self, spec) -> None:
        super().__init__(spec.name)
        self.__spec__ = spec
        self.__loader__ = spec.loader
        self.__file__ = spec.origin
        self.__package__ = spec.parent if spec.submodule_search_locations is None else spec.name
        if spec.submodule_search_locations is not None:
            self.__path__ = list(spec.submodule_search_locations)

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):  # probes such as __wrapped__: not a use
            raise AttributeError(attr)
        return getattr(self._load(), attr)

    def _load(self) -> types.ModuleType:
        name = self.__spec__.name
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update({k: v for k, v in vars(real).items() if not k.startswith("__")})
        return real


def defer_module(name: str) -> bool:
    """Put a stand-in for ``name`` into ``sys.modules``; False when the module is already
    imported or not installed (then nothing changes)."""
    if name in sys.modules:
        return False
    spec = _find_spec_without_importing(name)
    if spec is None:
        return False
    sys.modules[name] = DeferredModule(spec)
    return True


def _find_spec_without_importing(name: str):
    """``importlib.util.find_spec``, except that a submodule's parent packages are not
    imported (a parent's ``__init__`` may import the very submodule to defer)."""
    parts = name.split(".")
    spec = importlib.util.find_spec(parts[0])
    for k in range(1, len(parts)):
        if spec is None or spec.submodule_search_locations is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: k + 1]),
                                                        spec.submodule_search_locations)
    return spec


def defer_heavy_imports() -> None:
    for name in DEFERRED:
        defer_module(name)
