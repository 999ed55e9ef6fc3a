"""Step-indexed schedules (interleaving ratio p(t), ...)."""
