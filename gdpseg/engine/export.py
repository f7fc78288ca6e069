"""Export a trained GDP model (``tools/prune.py``) and load exports (``tools/test.py``)."""
import json
import os.path as osp

import torch
import torch.nn as nn

from gdpseg.core import prune
from gdpseg.engine.utils import get_gates


def _gdpseg_classes(module):
    return sorted({type(m).__name__ for m in module.modules()
                   if type(m).__module__.split('.')[0] == 'gdpseg'})


def standalone(network: nn.Module, example: torch.Tensor) -> nn.Module:
    """A module that loads without gdpseg: ``network`` itself, or, when it is made of gdpseg's
    classes, its ``torch.fx`` graph (torch layers + generated code), checked to compute the same.
    """
    if not _gdpseg_classes(network):
        return network
    graph = torch.fx.symbolic_trace(network)
    with torch.no_grad():
        ref, out = network.eval()(example), graph.eval()(example)
    if not torch.allclose(ref, out, rtol=0, atol=0):
        raise RuntimeError('the torch.fx graph of the export differs from the export')
    return graph


def export_gdp_model(model, example: torch.Tensor):
    """Prune the architecture of a :class:`GDPAlgorithm` and check it against the gated model.

    Returns:
        tuple: ``(pruned architecture, plain network to save, max |difference|)``.
    """
    gates = get_gates(model)
    arch = model.architecture.eval()
    pruned = prune(arch, gates).eval()
    with torch.no_grad():
        ref = arch(example, mode='tensor')
        out = pruned(example, mode='tensor')
    diff = float((ref - out).abs().max())
    scale = float(ref.abs().max()) or 1.0
    if diff > 1e-4 * scale:
        raise RuntimeError(f'export differs from the gated model by {diff:.3g}')
    network = getattr(pruned, 'network', None)
    plain = standalone(network, example) if network is not None else pruned
    return pruned, plain, diff


def structure(gates, before_flops, after_flops, before_params, after_params):
    """Channels kept per group and the model's size before and after, for structure.json."""
    keep = gates.keep_indices()
    groups = [dict(name=g.name, size=g.size, kept=len(k), prunable=g.prunable,
                   reasons=g.reasons, producers=g.producers, consumers=g.consumers)
              for g, k in zip(gates.groups, keep)]
    return dict(groups=groups, flops=dict(before=before_flops, after=after_flops,
                                          ratio=after_flops / before_flops),
                params=dict(before=before_params, after=after_params,
                            ratio=after_params / before_params))


def aspp_report(gates):
    """One line per ASPP branch: channels kept, or that the branch is pruned away."""
    lines = []
    for g in gates.groups:
        if 'aspp' not in g.name.lower() or not g.prunable or 'project' in g.name:
            continue
        live = g.live()
        state = (f'{live}/{g.size} channels' if live else
                 'pruned: no convolution left (a 1-channel placeholder keeps the concat layout)')
        lines.append(f'  ASPP branch {g.name}: {state}')
    return lines


def write_report(out_dir, gates, info):
    with open(osp.join(out_dir, 'structure.json'), 'w') as f:
        json.dump(info, f, indent=2)
    fl, pa = info['flops'], info['params']
    lines = ['GDP export', '',
             f"FLOPs (conv+linear MACs at the traced input): {fl['before']:,} -> {fl['after']:,}"
             f" ({100 * fl['ratio']:.2f} %)",
             f"Parameters: {pa['before']:,} -> {pa['after']:,} ({100 * pa['ratio']:.2f} %)", '']
    aspp = aspp_report(gates)
    if aspp:
        lines += ['ASPP:'] + aspp + ['']
    lines += ['Groups:', gates.summary()]
    text = '\n'.join(lines) + '\n'
    with open(osp.join(out_dir, 'report.txt'), 'w') as f:
        f.write(text)
    return text
