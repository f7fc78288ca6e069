"""Re-estimate BatchNorm running statistics on training batches (after pruning)."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


@contextmanager
def frozen_bn_statistics(model: nn.Module, active: bool = True):
    """Within the block, BatchNorm layers in training mode normalise with batch statistics but
    leave their running statistics as they are (momentum 0); restored after. ``active=False``
    changes nothing."""
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)] if active else []
    saved = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0  # running = (1 - 0)·running + 0·batch: unchanged
    try:
        yield
    finally:
        for m, momentum in zip(norms, saved):
            m.momentum = momentum


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches, forward) -> int:
    """Replace the running mean/var of every BatchNorm layer by their average over ``batches``.

    When to use it: BN statistics are running averages collected while training. After a short
    GDP run, or when pruning removed much of what a layer reads, they can lag behind the
    network's actual activations, and an exported model then scores far below what it reaches
    in training mode. Re-estimating them on a few hundred training images (no labels, no
    gradient) fixes that; it changes the export's outputs, so it is not part of the exactness
    check against the gated model.

    Args:
        model: The model; only its BN layers switch to training mode (dropout stays off).
        batches: An iterable of inputs for ``forward``.
        forward: ``forward(model, batch)`` runs one batch.

    Returns:
        int: The number of batches used.
    """
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not norms:
        return 0
    was_training = model.training
    momenta = [m.momentum for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: every batch counts the same
        m.train()
    used = 0
    try:
        for batch in batches:
            forward(model, batch)
            used += 1
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)
    if not used:
        raise ValueError('BN recalibration got no batches')
    return used


def mmengine_batches(model, dataloader, num_batches: int, transform=None):
    """Inputs of an MMEngine model from a dataloader, through its data preprocessor (and then
    ``transform``, e.g. a resize to the input size the model runs at)."""
    for i, data in enumerate(dataloader):
        if i >= num_batches:
            return
        inputs = model.data_preprocessor(data, False)['inputs']
        yield transform(inputs) if transform is not None else inputs


def tensor_forward(model, inputs):
    return model(inputs, mode='tensor')
