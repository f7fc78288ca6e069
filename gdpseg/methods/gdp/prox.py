"""The proximal step of GDP (paper Algorithm 1 with the closed form of Eq. 9).

After a gradient step gives α̂, the gates solve
    argmin_α ½‖α − α̂‖² + η λ R(α) / R_full
where R is bilinear in the group widths ‖α_l‖₀. Algorithm 1 alternates over groups: for group l,
the other groups' widths are held at their current ‖α_k‖₀ and ‖α_l‖₀ is relaxed to ‖α_l‖₁, which
is a soft threshold with

    β_l = η · λ · (Σ_{k≠l} a_lk ‖α_k‖₀ + b_l) / R_full.

The paper typesets b_l outside η·λ; here it is inside, so that β is η·λ times the derivative of
the (normalised) resource -- with b_l outside, the linear terms would not scale with λ or the
learning rate at all, and λ = 0 would still prune. Each pass thresholds α̂ again with the widths
of the previous pass (Jacobi order, as line 4 uses α^t for every k ≠ l).

``cost_exponent`` p < 1 (not the paper) tempers how much a channel's cost decides its
threshold: β_l ∝ c_l^p with c_l the coefficient above, rescaled so that the live channels'
total threshold Σ_l n_l β_l is the paper's. At p = 1 it is the paper; at p = 0 every channel
gets the same threshold and the resource acts only through λ (its controller's budget). In short
runs the paper's β decides which channels go in the order of their cost (a stem or residual
stream, read by every block, goes first), before the loss's pull on α has added up.
"""
from typing import List, Sequence

import torch


def soft_threshold(x: torch.Tensor, beta: float) -> torch.Tensor:
    """Closed-form minimiser of ½(α − x)² + β|α| (Eq. 9), element-wise."""
    return torch.sign(x) * torch.clamp(x.abs() - beta, min=0)


def alternating_prox(alpha_hat: List[torch.Tensor], resource, index: List[int],
                     sizes: Sequence[int], lr: float, lam: float, passes: int = 1,
                     min_keep: int = 1, protected: Sequence[int] = (),
                     cost_exponent: float = 1.0) -> List[torch.Tensor]:
    """Algorithm 1: ``passes`` rounds of soft thresholds of the prunable groups' α̂.

    Args:
        alpha_hat: α̂ of the prunable groups (after the gradient step).
        resource: A :class:`~gdpseg.core.resource.Resource` over *all* groups (its ``grad``
            gives each group's coefficient).
        index: Position of each prunable group among all groups.
        sizes: Widths of all groups (fixed groups keep theirs).
        lr, lam: η₁ and λ; λ weights R / R(sizes).
        passes: N.
        min_keep: A group that keeps any non-zero entry keeps at least this many (its largest
            |α̂| are left unshrunk); a group may still reach all zeros (a dead branch).
        protected: Positions (in ``index``) of groups that must not reach all zeros; they keep
            at least ``max(1, min_keep)`` entries.
        cost_exponent: p of the tempered coefficients c_l^p (see the module's docstring);
            1 is the paper.

    Returns:
        The new α of each prunable group.
    """
    full = resource.value(sizes)
    counts = [float(s) for s in sizes]
    for i, a in zip(index, alpha_hat):
        counts[i] = float(torch.count_nonzero(a))
    new = list(alpha_hat)
    protected = set(protected)
    for _ in range(passes):
        coef = resource.grad(counts)
        if cost_exponent != 1:
            coef = tempered(coef, [counts[i] for i in index], index, cost_exponent)
        beta = lr * lam * coef / full
        new = [soft_threshold(a, float(beta[i])) for i, a in zip(index, alpha_hat)]
        new = [_keep_top(n, a, min_keep, j in protected)
               for j, (n, a) in enumerate(zip(new, alpha_hat))]
        for i, n in zip(index, new):
            counts[i] = float(torch.count_nonzero(n))
    return new


def tempered(coef: torch.Tensor, live: Sequence[float], index: Sequence[int],
             p: float) -> torch.Tensor:
    """c_l^p for the prunable groups ``index``, scaled so that Σ n_l c_l over their ``live``
    widths n_l is unchanged (the other groups' entries are returned as they are)."""
    out = coef.clone()
    c = coef[list(index)].clamp(min=0)
    n = torch.as_tensor(live, dtype=c.dtype)
    cp = c.pow(p) if p > 0 else (c > 0).to(c.dtype)  # p = 0: 0⁰ stays 0 (a free group)
    mass = float((n * cp).sum())
    if mass > 0:
        out[list(index)] = cp * (float((n * c).sum()) / mass)
    return out


def _keep_top(new: torch.Tensor, hat: torch.Tensor, k: int, protected: bool) -> torch.Tensor:
    live = int(torch.count_nonzero(new))
    if live == 0 and protected:
        k = max(k, 1)
    elif live == 0 or live >= min(k, new.numel()):
        return new
    top = torch.topk(hat.abs(), min(k, hat.numel())).indices
    out = new.clone()
    out[top] = torch.where(new[top] != 0, new[top], hat[top])
    return out
