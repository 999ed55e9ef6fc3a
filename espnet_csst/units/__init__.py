"""Discrete speech units for S2ST: features, k-means, word alignment, interleaving, vocoder (DESIGN.md 3.4)."""
