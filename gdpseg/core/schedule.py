"""The ε schedule of GDP: ε_t = max(min_eps, ε₀ · factor^⌊t / period⌋).

t counts iterations or epochs, as the caller decides (the paper: ×0.97 every 120 iterations for
DeepLabV3+, ×0.96 / ×0.9 per epoch on CIFAR / ImageNet). The floor keeps g(α) = α²/(α²+ε)
defined: ε = 0 would give 0/0 at α = 0. The schedule has no state beyond its settings, so a
resumed run continues it exactly from the step count alone.
"""


class EpsilonSchedule:
    """ε as a function of the step count.

    Args:
        eps0: ε at step 0 (> 0).
        factor: Decay factor in (0, 1], e.g. 0.97.
        period: Steps between decays (>= 1), e.g. 120 iterations.
        min_eps: Floor of ε (> 0).
    """

    def __init__(self, eps0: float, factor: float, period: int = 1, min_eps: float = 1e-12):
        if not eps0 > 0:
            raise ValueError(f'eps0 must be > 0, got {eps0}')
        if not 0 < factor <= 1:
            raise ValueError(f'eps factor must be in (0, 1], got {factor}')
        if period < 1:
            raise ValueError(f'eps period must be >= 1, got {period}')
        if not min_eps > 0:
            raise ValueError(f'min_eps must be > 0, got {min_eps}')
        self.eps0, self.factor, self.period = float(eps0), float(factor), int(period)
        self.min_eps = float(min_eps)

    def eps_at(self, step: int) -> float:
        return max(self.min_eps, self.eps0 * self.factor ** (int(step) // self.period))

    def __repr__(self):
        return (f'EpsilonSchedule(eps0={self.eps0}, factor={self.factor}, period={self.period},'
                f' min_eps={self.min_eps})')
