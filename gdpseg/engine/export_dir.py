"""Export a trained pruning model (``tools/prune.py``) and load exports (``tools/test.py``).

An export directory holds

* ``plan.json``: the channels kept per group (:class:`gdpseg.core.PruningPlan`), the config it
  applies to (``config.py`` beside it) and the sizes before and after;
* ``pruned_weights.pth``: the ``state_dict`` of the pruned task model, loadable with
  ``torch.load(weights_only=True)``;
* ``pruned.pth``: the pruned network as a pickled module, a convenience for using it where
  gdpseg is not installed (pickles can run code: load only files you trust).

:func:`load_export` rebuilds the task model from the config, applies the plan and loads the
weights -- no pickle involved.
"""
import json
import os.path as osp

import torch
import torch.nn as nn

from gdpseg.core import PruningPlan, prune
from gdpseg.core.nested import iter_tensors, max_difference
from gdpseg.core.forward import call_forward

PLAN_FILE, WEIGHTS_FILE, CONFIG_FILE, MODULE_FILE = ('plan.json', 'pruned_weights.pth',
                                                     'config.py', 'pruned.pth')


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
        network.eval()
        graph.eval()
        ref, out = network(example), graph(example)
    if not torch.equal(ref, out):
        raise RuntimeError('the torch.fx graph of the export differs from the export')
    return graph


def export_model(model, example: torch.Tensor, tolerance: float = 1e-4):
    """Prune the architecture of a pruning model (:class:`PruningAlgorithm`) by its plan and
    check the export against the model with the plan applied (GDP: the gated model) on
    ``example``.

    Returns:
        tuple: ``(pruned architecture, plan, max |difference| relative to the output's max)``.
    """
    model.eval()
    model.before_export(example)
    plan = model.plan()
    arch = model.architecture
    arch.eval()  # not chained: some models' train() returns None (mmpretrain's ViT)
    pruned = prune(arch, model.channel_groups, plan)
    pruned.eval()
    with torch.no_grad():
        # what the plan computes, as the method knows it (GDP: its gated architecture)
        ref = model.reference_outputs(plan, example)
        diff = max_difference(ref, call_forward(pruned, (example,), model.forward_fn))
    if diff > tolerance:
        raise RuntimeError(f'export differs from the gated model by {diff:.3g} (relative)')
    check_input_dependent(pruned, model.forward_fn, example)
    return pruned, plan, diff


class ConstantExportError(ValueError):
    """The export computes the same output whatever its input."""


def check_input_dependent(network: nn.Module, forward_fn, example: torch.Tensor) -> None:
    """Refuse a network whose outputs are identical for two different inputs: a plan that cut
    every path from the input to an output (what remains is biases)."""
    other = torch.randn(example.shape, generator=torch.Generator().manual_seed(12345),
                        dtype=example.dtype) * (example.std() + 1) + example.mean()
    with torch.no_grad():
        a = call_forward(network, (example,), forward_fn)
        b = call_forward(network, (other,), forward_fn)
    max_difference(a, b)  # same structure, finite
    same = [i for i, (x, y) in enumerate(zip(iter_tensors(a), iter_tensors(b)))
            if torch.equal(x, y)]
    if same:
        which = 'output' if len(list(iter_tensors(a))) == 1 else \
            f'output{"s" if len(same) > 1 else ""} {", ".join(map(str, same))}'
        raise ConstantExportError(
            f'the pruned network gives exactly the same {which} for two different inputs: its '
            'plan removed every channel on the way from the input to that output, so it would '
            'predict a constant. Nothing was written. Prune less (a smaller λ or a larger '
            'FLOPs ratio), or keep keep_connected=True in the method\'s config')


def save_export(out_dir: str, cfg, model, pruned: nn.Module, plan, example, info: dict):
    """Write plan.json, config.py, pruned_weights.pth and pruned.pth to ``out_dir``."""
    cfg.dump(osp.join(out_dir, CONFIG_FILE))
    data = plan.to_dict(model.channel_groups)
    data.update(config=CONFIG_FILE, weights=WEIGHTS_FILE, input_shape=list(model.input_shape),
                **{k: v for k, v in info.items() if k not in data})
    with open(osp.join(out_dir, PLAN_FILE), 'w') as f:
        json.dump(data, f, indent=1)
    torch.save(pruned.state_dict(), osp.join(out_dir, WEIGHTS_FILE))
    network = getattr(pruned, 'network', None)
    plain = standalone(network, example) if network is not None else pruned
    torch.save(plain, osp.join(out_dir, MODULE_FILE))


def plan_path(path: str) -> str:
    """``path`` itself if it is a plan file, ``path/plan.json`` for an export directory."""
    return osp.join(path, PLAN_FILE) if osp.isdir(path) else path


def read_plan_file(path: str) -> dict:
    """The contents of an export's ``plan.json``; a clear error for any other file."""
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError):
        kind = 'a binary file (a checkpoint or a pickled module?)' if _is_binary(path) else \
            'text that is not JSON'
        raise ValueError(f'{path} is not the plan.json of an export of tools/prune.py: it is '
                         f'{kind}. Pass the export directory, or its plan.json') from None
    if not isinstance(data, dict) or 'groups' not in data:
        raise ValueError(f'{path} is JSON but not the plan.json of an export of '
                         'tools/prune.py (it has no "groups"): pass the export directory, or '
                         'its plan.json')
    return data


def _is_binary(path):
    with open(path, 'rb') as f:
        head = f.read(512)
    return b'\0' in head or head[:2] == b'PK' or head[:1] == b'\x80'


def export_input_shape(path: str):
    """The input shape an export was traced and counted at (``None`` if it does not say)."""
    return read_plan_file(plan_path(path)).get('input_shape')


def is_export(path: str) -> bool:
    path = plan_path(path)
    return path.endswith('.json') and osp.isfile(path)


def load_export(path: str):
    """Rebuild an export: the task model of its config, pruned by its plan, with its weights
    (loaded with ``weights_only=True``).

    Args:
        path: ``DIR/plan.json`` or the export directory ``DIR``.

    Returns:
        The pruned task model (for an mmseg segmentor: the segmentor, with its data
        preprocessor), in eval mode.
    """
    from mmengine.registry import DefaultScope

    from gdpseg.engine.checkpoint import read_state_dict
    from gdpseg.registry import MODELS
    from gdpseg.utils.config import load_config
    from gdpseg.utils.errors import first_line

    path = plan_path(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'no export plan at {path}: run tools/prune.py CONFIG '
                                'CHECKPOINT --out DIR first, then pass DIR or DIR/plan.json')
    data = read_plan_file(path)
    root = osp.dirname(path)
    cfg_path = osp.join(root, data.get('config', CONFIG_FILE))
    weights = osp.join(root, data.get('weights', WEIGHTS_FILE))
    for file, what in ((cfg_path, 'config'), (weights, 'weights')):
        if not osp.isfile(file):
            raise FileNotFoundError(f'the export {root} is incomplete: its {what} file {file} '
                                    'is missing; export again with tools/prune.py')
    cfg = load_config(cfg_path)
    # the model's random initialisation is overwritten by the weights: it must not move the
    # seeded random stream of the run that loads the export (dropout, augmentation)
    with torch.random.fork_rng(), \
            DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
        model = MODELS.build(cfg.model)
    if not hasattr(model, 'channel_groups'):
        raise ValueError(f'{cfg_path} does not describe a pruning model (GDPAlgorithm)')
    plan = PruningPlan.from_dict(data, model.channel_groups)
    pruned = prune(model.architecture, model.channel_groups, plan)
    state = read_state_dict(weights)
    try:
        pruned.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f'{weights} does not fit the export\'s plan ({first_line(exc)}): the '
                         'files of the export were mixed; export again with tools/prune.py') \
            from None
    pruned.eval()
    return pruned


def structure(groups, plan, before_flops, after_flops, before_params, after_params):
    """Channels kept per group and the model's size before and after, for structure.json."""
    out = [dict(name=g.name, size=g.size, unit=g.unit, kept=len(k), prunable=g.prunable,
                reasons=g.reasons, producers=g.producers, consumers=g.consumers)
           for g, k in zip(groups.groups, plan.keep)]
    return dict(groups=out, flops=dict(before=before_flops, after=after_flops,
                                       ratio=after_flops / before_flops),
                params=dict(before=before_params, after=after_params,
                            ratio=after_params / before_params))


def write_report(out_dir, groups, plan, info, sections=()):
    """Write structure.json and report.txt; ``sections``: ``(title, lines)`` a task adds (the
    segmentation adapter: one line per ASPP branch)."""
    with open(osp.join(out_dir, 'structure.json'), 'w') as f:
        json.dump(info, f, indent=2)
    fl, pa = info['flops'], info['params']
    lines = ['Pruned export', '',
             f"FLOPs (conv+linear MACs at the traced input): {fl['before']:,} -> {fl['after']:,}"
             f" ({100 * fl['ratio']:.2f} %)",
             f"Parameters: {pa['before']:,} -> {pa['after']:,} ({100 * pa['ratio']:.2f} %)", '']
    for title, section in sections:
        if section:
            lines += [f'{title}:'] + list(section) + ['']
    lines += ['Groups:', groups.summary(plan)]
    text = '\n'.join(lines) + '\n'
    with open(osp.join(out_dir, 'report.txt'), 'w') as f:
        f.write(text)
    return text
