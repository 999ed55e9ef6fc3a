"""espnet_csst: LLM-based (code-switched) speech translation recipes for ESPnet."""

from espnet_csst.utils.lazy_imports import defer_heavy_imports

__version__ = "0.1.0"

# before anything imports ESPnet: g2p_en loads (and downloads NLTK data) only when used
defer_heavy_imports()
