"""The plain (ungated) task network of a config, traced into its channel groups: what the
latency tools time and prune."""
import torch
from mmengine.registry import DefaultScope

from gdpseg.core import trace_groups
from gdpseg.models.algorithms.base import tensor_mode
from gdpseg.registry import MODELS


def build_network(cfg, shape):
    """Build the task network of ``cfg`` (a pruning config's ``architecture``) in eval mode and
    trace its channel groups on a random input of ``shape``.

    Returns:
        ``(net, groups, example, forward_fn)``: ``forward_fn`` calls an OpenMMLab task model
        in tensor mode (None for a plain module), ``example`` is the traced input.
    """
    model_cfg = cfg.model.get('architecture', cfg.model)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
        net = MODELS.build(model_cfg).eval()
    forward_fn = tensor_mode if hasattr(net, 'data_preprocessor') else None
    example = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    groups = trace_groups(net, (example,), forward_fn)
    return net, groups, example, forward_fn
