"""The interleaving ratio p(t) of scheduled interleaved S2ST training (DESIGN.md 3.4).

p(t) is the probability that an aligned word's speech units are replaced by
the word's text tokens at training step t:

* ``step`` (the method):  p(t) = max(0, p0 - delta * floor(t / interval)),
  defaults 0.9, 0.1, 300: text-heavy sequences first, pure units at the end;
* ``constant`` (the ablation's fixed ratio): p(t) = p0;
* ``none``: p(t) = 0, pure units throughout.

t is the model's ``interleave_step`` buffer (ESPnet checkpoints carry it, so
``--resume`` continues the schedule where it stopped).
"""

from dataclasses import dataclass

MODES = ("step", "constant", "none")
#: Ratios at or below this are 0 (float rounding of p0 - delta * k).
EPS = 1e-9


@dataclass(frozen=True)
class InterleaveSchedule:
    mode: str = "step"
    p0: float = 0.9
    delta: float = 0.1
    interval: int = 300

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"model_conf.interleave_schedule must be one of {MODES}, got {self.mode!r}")
        if not 0.0 <= self.p0 <= 1.0:
            raise ValueError(f"model_conf.interleave_p0 must be in [0, 1], got {self.p0}")
        if self.delta < 0:
            raise ValueError(f"model_conf.interleave_delta must be >= 0, got {self.delta}")
        if self.interval < 1:
            raise ValueError(f"model_conf.interleave_interval must be >= 1 step, got {self.interval}")

    def ratio(self, step: int) -> float:
        """p(t) for training step t (0-based)."""
        if self.mode == "none":
            return 0.0
        if self.mode == "constant":
            return self.p0
        return self._after_decrements(step // self.interval)

    def _after_decrements(self, k: int) -> float:
        # what float rounding leaves above 0 (0.9 - 9 * 0.1 = 1e-16) is 0: pure units, as last_text_step says
        p = self.p0 - self.delta * k
        return p if p > EPS else 0.0

    def last_text_step(self) -> int:
        """The first step at which p(t) is 0 (pure units from then on); -1 if never."""
        if self.mode == "none" or self.p0 == 0.0:
            return 0
        if self.mode == "constant" or self.delta == 0.0:
            return -1
        # the smallest k with p(k) = 0, from its float estimate
        k = max(0, int(self.p0 / self.delta) - 1)
        while self._after_decrements(k) > 0.0:
            k += 1
        return k * self.interval
