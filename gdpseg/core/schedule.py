"""ε decay: multiply ε by ``factor`` every ``period`` steps (iterations or epochs)."""


class EpsilonDecay:
    """ε_t = ε_0 · factor^⌊t / period⌋, applied to a :class:`GateSet`.

    Args:
        gates: The gate set whose ε is driven.
        factor: Decay factor (< 1), e.g. 0.97.
        period: Steps between decays, e.g. 120 iterations.
        eps0: Initial ε; defaults to the gate set's current ε.
        min_eps: Lower bound (keeps g(α) numerically stable).
    """

    def __init__(self, gates, factor: float, period: int = 1, eps0=None, min_eps: float = 1e-12):
        if not 0 < factor <= 1:
            raise ValueError(f'factor must be in (0, 1], got {factor}')
        if period < 1:
            raise ValueError(f'period must be >= 1, got {period}')
        self.gates, self.factor, self.period, self.min_eps = gates, factor, int(period), min_eps
        self.eps0 = float(gates.eps) if eps0 is None else float(eps0)
        self.steps = 0

    def eps_at(self, steps: int) -> float:
        return max(self.min_eps, self.eps0 * self.factor ** (steps // self.period))

    def step(self) -> float:
        """Advance one step, set and return ε."""
        self.steps += 1
        eps = self.eps_at(self.steps)
        self.gates.set_eps(eps)
        return eps

    def state_dict(self):
        return {'steps': self.steps, 'eps0': self.eps0, 'factor': self.factor,
                'period': self.period}

    def load_state_dict(self, state):
        self.steps, self.eps0 = int(state['steps']), float(state['eps0'])
        self.factor, self.period = float(state['factor']), int(state['period'])
        self.gates.set_eps(self.eps_at(self.steps))
