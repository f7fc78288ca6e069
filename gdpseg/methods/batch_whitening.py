"""Batch whitening of a BatchNorm layer's standardised output: BWCP's BW module.

BWCP models a channel as active with probability ``P = Φ(β/|γ|)``, which holds when the
normalised activation ``x̂`` of each channel is N(0, 1) and the channels are independent. BatchNorm
standardises each channel alone; batch whitening also decorrelates them: ``x̃ = W x̂`` with
``W ≈ Σ^{-1/2}``, Σ the batch correlation of ``x̂``, so ``x̃`` has (about) identity covariance.

As we read BWCP's BW (Shao et al. 2021, Sec. 3.2) and build it here:

* the whitening runs on the BatchNorm's own standardised activation (its batch statistics in
  training, its running statistics in eval), channel groups of ``group_size`` whitened each on
  its own (group whitening, as IterNorm and DBN do: a full C×C whitening is noisy with small
  batches);
* ``Σ^{-1/2}`` by IterNorm's Newton iterations (Huang et al. 2019): ``Σ_N = Σ / tr Σ``,
  ``P₀ = I``, ``P_{k+1} = (3 P_k − P_k³ Σ_N) / 2``, ``W = P_T / √tr Σ`` — differentiable, no
  eigendecomposition; more iterations whiten more exactly (computed in the stable coupled
  form, :func:`newton_inverse_sqrt`);
* a running whitening matrix (momentum average, as BatchNorm's running statistics) for eval;
* the output ``γ ⊙ x̃ + β`` with the BatchNorm's affine parameters, so P keeps its meaning.

In eval mode the whitening is linear, so it folds into the convolution (or linear layer) that
feeds the BatchNorm (:meth:`BatchWhitening.fold`): the network is then plain conv + BatchNorm
again, and the engine's export prunes it as any other. The whitening adds no parameters and no
inference cost, as the paper says.
"""
from typing import Optional

import torch
import torch.nn as nn


def newton_inverse_sqrt(cov: torch.Tensor, iters: int) -> torch.Tensor:
    """IterNorm's ``Σ^{-1/2}`` of a batch of symmetric positive-definite matrices ``(G, g, g)``
    by ``iters`` Newton iterations on the trace-normalised matrix (differentiable).

    The iterates are IterNorm's ``P_k``, computed in the coupled Newton–Schulz form
    (``Y → Σ_N^{1/2}``, ``Z → Σ_N^{-1/2}``): IterNorm's single-sequence form is the same in
    exact arithmetic but amplifies rounding once it has converged (NaN after about 20
    iterations in float64)."""
    trace = cov.diagonal(dim1=-2, dim2=-1).sum(-1)[:, None, None]
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device).expand_as(cov)
    y, z = cov / trace, eye
    for _ in range(iters):
        t = 1.5 * eye - 0.5 * (z @ y)
        y, z = y @ t, t @ z
    return z / trace.sqrt()


class BatchWhitening(nn.Module):
    """Group whitening of one BatchNorm layer's standardised activation (a forward hook on it).

    The BatchNorm runs as usual (its running statistics stay its own); the hook replaces its
    output by ``γ ⊙ W x̂ + β``. The module holds the running whitening matrix and is kept by the
    pruning method, not inside the task model, so the task model's state_dict keeps its keys.

    Args:
        norm: The ``BatchNorm1d``/``BatchNorm2d`` layer (affine, with running statistics).
        group_size: Channels whitened together (the last group may be smaller).
        iters: Newton iterations per whitening (IterNorm: 5).
        eps: Added to the correlation's diagonal.
        momentum: Of the running whitening matrix (None: as the norm averages its running
            statistics: its momentum, or a cumulative average where that is None).
    """

    def __init__(self, norm: nn.Module, group_size: int = 16, iters: int = 5,
                 eps: float = 1e-5, momentum: Optional[float] = None):
        super().__init__()
        if not isinstance(norm, nn.modules.batchnorm._BatchNorm) or not norm.affine or \
                not norm.track_running_stats:
            raise ValueError(f'batch whitening needs an affine BatchNorm with running '
                             f'statistics, got {norm}')
        if group_size < 1 or iters < 1:
            raise ValueError(f'group_size and iters must be >= 1, got {group_size}, {iters}')
        channels = norm.num_features
        self.group_size = min(int(group_size), channels)
        self.iters, self.eps = int(iters), float(eps)
        self.momentum = momentum
        groups = -(-channels // self.group_size)
        self.register_buffer('running_whitening',
                             torch.eye(self.group_size).repeat(groups, 1, 1))
        self._norm = [norm]  # a list: not a child module (its parameters belong to the model)
        self._handle = None
        self._removed = False
        self.attach()

    @property
    def norm(self) -> nn.Module:
        return self._norm[0]

    @property
    def attached(self) -> bool:
        return self._handle is not None

    def attach(self) -> None:
        """(Re-)install the hook, unless :meth:`remove` ended the whitening."""
        if self._handle is None and not self._removed:
            self._handle = self.norm.register_forward_hook(self._hook)

    def detach(self) -> None:
        """Take the hook off for a while (:meth:`attach` puts it back): a copy of the model
        made meanwhile (the export) carries no whitening."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def remove(self) -> None:
        """Stop whitening for good (after :meth:`fold`): the BatchNorm computes its own output
        again."""
        self.detach()
        self._removed = True

    def _grouped(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, ...)`` -> ``(G, g, N·positions)``, zero channels padding the last group
        (the correlation stays block-diagonal, so the padding changes no real channel)."""
        c = x.shape[1]
        flat = x.transpose(0, 1).reshape(c, -1)
        pad = self.running_whitening.shape[0] * self.group_size - c
        if pad:
            flat = torch.cat([flat, flat.new_zeros(pad, flat.shape[1])])
        return flat.view(-1, self.group_size, flat.shape[1])

    def _ungrouped(self, g: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        c = like.shape[1]
        flat = g.reshape(-1, g.shape[-1])[:c]
        shape = (c, like.shape[0], *like.shape[2:])
        return flat.view(shape).transpose(0, 1)

    def matrix(self) -> torch.Tensor:
        """The running whitening as one block-diagonal ``C × C`` matrix."""
        c = self.norm.num_features
        return torch.block_diag(*self.running_whitening)[:c, :c]

    def _factor(self, norm) -> float:
        if self.momentum is not None:
            return float(self.momentum)
        if norm.momentum is not None:
            return float(norm.momentum)
        return 1.0 / max(1, int(norm.num_batches_tracked))  # the norm counted this batch

    def _hook(self, module, args, out):
        x = args[0]
        reduce = [0] + list(range(2, x.dim()))
        if module.training:
            mean = x.mean(reduce, keepdim=True)
            var = x.var(reduce, unbiased=False, keepdim=True)
        else:
            shape = [1, -1] + [1] * (x.dim() - 2)
            mean, var = module.running_mean.view(shape), module.running_var.view(shape)
        std = (x - mean) / torch.sqrt(var + module.eps)
        grouped = self._grouped(std)
        if module.training:
            m = grouped.shape[-1]
            cov = grouped @ grouped.transpose(1, 2) / m
            cov = cov + self.eps * torch.eye(self.group_size, dtype=cov.dtype,
                                             device=cov.device)
            whiten = newton_inverse_sqrt(cov, self.iters)
            with torch.no_grad():
                self.running_whitening.lerp_(whiten.detach().to(self.running_whitening),
                                             self._factor(module))
        else:
            whiten = self.running_whitening.to(grouped)
        white = self._ungrouped(whiten @ grouped, x)
        shape = [1, -1] + [1] * (x.dim() - 2)
        return white * module.weight.view(shape) + module.bias.view(shape)

    @torch.no_grad()
    def fold(self, layer: nn.Module) -> None:
        """Fold the eval-mode whitening into ``layer``, the conv/linear that feeds the norm, and
        the norm's running mean, and stop whitening: ``norm(layer'(x))`` then equals the
        whitened ``norm(layer(x))``, with no parameter added (the task model's keys stay).

        With ``M = S W D`` (``D = diag(1/√(σ² + ε))``, ``S = D⁻¹``, W the running whitening):
        ``layer' = M·layer`` (its weight and bias) and the running mean ``μ' = M μ``, so the
        norm's own standardisation gives ``D M (layer(x) − μ) = W D (layer(x) − μ)``."""
        if not isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)) or \
                getattr(layer, 'groups', 1) != 1:
            raise ValueError(f'batch whitening folds into a dense convolution or linear layer '
                             f'before its BatchNorm, got {layer}: whiten other layers only')
        norm = self.norm
        mean = norm.running_mean
        std = torch.sqrt(norm.running_var + norm.eps)
        mix = std[:, None] * self.matrix().to(mean) / std[None, :]
        weight = layer.weight
        if weight.shape[0] != mix.shape[0]:
            raise ValueError(f'{layer} gives {weight.shape[0]} channels, the norm after it '
                             f'{mix.shape[0]}')
        weight.copy_((mix.to(weight) @ weight.reshape(weight.shape[0], -1)).view_as(weight))
        if layer.bias is not None:
            layer.bias.copy_(mix.to(layer.bias) @ layer.bias)
        mean.copy_(mix @ mean)
        self.remove()
