"""The transition loss of multi-stage training (DESIGN.md 3.2).

When stage s starts from stage s-1's model, stage s-1's data is replayed in
the same batches and its objective is weighted by lambda(t), which decays from
``lambda0`` to ``lambda_min`` over ``steps`` training steps, linearly or on a
cosine, and stays at ``lambda_min`` afterwards:

    L = L_current + lambda(t) * L_replay  [+ kl_weight * KL(teacher || model) on current data]

t is the model's ``transition_step`` buffer, so it travels in ESPnet's
checkpoints and ``--resume`` continues the schedule where it stopped.
"""

import math
from dataclasses import dataclass

import torch

SCHEDULES = ("linear", "cosine")


@dataclass(frozen=True)
class TransitionSchedule:
    lambda0: float = 1.0
    lambda_min: float = 0.1
    steps: int = 1000
    schedule: str = "linear"

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"model_conf.transition_schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.steps < 0:
            raise ValueError(f"model_conf.transition_steps must be >= 0, got {self.steps}")
        if self.lambda0 < 0 or self.lambda_min < 0:
            raise ValueError("model_conf.transition_lambda0 and transition_lambda_min must be >= 0, got "
                             f"{self.lambda0} and {self.lambda_min}")

    def weight(self, step: int) -> float:
        """lambda(t) for training step t (0-based)."""
        if self.steps == 0 or step >= self.steps:
            return self.lambda_min
        progress = step / self.steps
        if self.schedule == "linear":
            shape = 1.0 - progress
        else:
            shape = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.lambda_min + (self.lambda0 - self.lambda_min) * shape


def kl_to_teacher(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over masked positions of KL(teacher || student) of the next-token distributions."""
    s = student_logits[mask].float().log_softmax(-1)
    t = teacher_logits[mask].float().log_softmax(-1)
    return torch.nn.functional.kl_div(s, t, log_target=True, reduction="batchmean")
