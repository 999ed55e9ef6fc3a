"""Frontends beyond ESPnet's: pretrained speech models whose frozen frames can be cached."""
