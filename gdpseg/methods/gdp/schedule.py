"""The ε schedule of GDP: ε_t = max(min_eps, ε₀ · factor^⌊t / period⌋).

t counts iterations or epochs, as the caller decides (the paper: ×0.97 every 120 iterations for
DeepLabV3+, ×0.96 / ×0.9 per epoch on CIFAR / ImageNet). The floor keeps g(α) = α²/(α²+ε)
defined: ε = 0 would give 0/0 at α = 0. The schedule has no state beyond its settings, so a
resumed run continues it exactly from the step count alone.
"""
import numbers

import torch

# ε must stay a normal number of the gates' dtype: below it, α² + ε rounds to 0 at α = 0.
SMALLEST_EPS = float(torch.finfo(torch.float32).tiny)


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f'{name} must be a number, got {value!r}')
    return float(value)


class EpsilonSchedule:
    """ε as a function of the step count.

    Args:
        eps0: ε at step 0 (> 0).
        factor: Decay factor in (0, 1], e.g. 0.97.
        period: Steps between decays (>= 1), e.g. 120 iterations.
        min_eps: Floor of ε, at least the smallest normal float32 (about 1.2e-38): below it
            ε underflows to 0 in the gates and a zero α gives 0/0.
    """

    def __init__(self, eps0: float, factor: float, period: int = 1, min_eps: float = 1e-12):
        eps0, factor = _number('eps0', eps0), _number('eps factor', factor)
        min_eps = _number('min_eps', min_eps)
        if isinstance(period, bool) or not isinstance(period, numbers.Real) or \
                period != int(period):
            raise ValueError(f'eps period must be a whole number of steps, got {period!r}')
        if not eps0 > 0:
            raise ValueError(f'eps0 must be > 0, got {eps0}')
        if not 0 < factor <= 1:
            raise ValueError(f'eps factor must be in (0, 1], got {factor}')
        if period < 1:
            raise ValueError(f'eps period must be >= 1, got {period}')
        if not min_eps >= SMALLEST_EPS:
            raise ValueError(f'min_eps={min_eps:g} is below the smallest normal float32 '
                             f'({SMALLEST_EPS:.3g}): ε would underflow to 0 in the gates and '
                             f'turn them NaN; use min_eps >= 1e-30')
        self.eps0, self.factor, self.period = float(eps0), float(factor), int(period)
        self.min_eps = float(min_eps)

    def eps_at(self, step: int) -> float:
        return max(self.min_eps, self.eps0 * self.factor ** (int(step) // self.period))

    def __repr__(self):
        return (f'EpsilonSchedule(eps0={self.eps0}, factor={self.factor}, period={self.period},'
                f' min_eps={self.min_eps})')
