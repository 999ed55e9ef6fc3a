"""Scoring of decoding output and upkeep of a recipe's RESULTS.json / RESULTS.md."""
