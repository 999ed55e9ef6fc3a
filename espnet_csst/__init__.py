"""espnet_csst: LLM-based (code-switched) speech translation recipes for ESPnet."""

__version__ = "0.1.0"
