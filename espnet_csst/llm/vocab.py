"""Extending an LLM's vocabulary with new tokens (the S2ST speech units).

The new rows go after every existing embedding row (not after the token
list: a pretrained model may have more rows than its tokenizer has tokens),
so every original token keeps its id and its embedding. transformers'
``resize_token_embeddings(mean_resizing=True)`` initialises them from a
normal distribution with the old embeddings' mean and covariance, which keeps
the first logits of the new tokens on the scale of the old ones instead of
random-init outliers; the output layer (tied or not) is resized the same way.
"""

from __future__ import annotations

import torch


def embedding_rows(model) -> int:
    return int(model.get_input_embeddings().weight.shape[0])


def extend_vocabulary(model, n_new: int) -> int:
    """Append ``n_new`` token rows to a transformers causal LM; returns the first new id."""
    if n_new < 0:
        raise ValueError(f"cannot add {n_new} tokens")
    first = embedding_rows(model)
    if n_new:
        with torch.no_grad():
            model.resize_token_embeddings(first + n_new, mean_resizing=True)
    return first
