"""FLOPs and parameters of the model of a config (mmseg's own script is broken on mmengine 0.10).

    python tools/get_flops.py CONFIG [CHECKPOINT | EXPORT_DIR] [--shape [C] H W]
                              [--latency [--threads 2]]

Counts with mmengine's analyzer (one multiply-add = one flop). For a GDP config it reports the
ungated network and, given a checkpoint, the network as its export would keep it; given an export
of tools/prune.py (its directory or plan.json), the exported network. ``--latency`` also times
it at batch 1 on the CPU, with PyTorch and with ONNX Runtime.
"""
import argparse

import torch
from mmengine.config import DictAction
from mmengine.registry import DefaultScope

from gdpseg.engine.checkpoint import load_weights
from gdpseg.engine.export_dir import export_input_shape, is_export, load_export
from gdpseg.evaluation import TensorMode, count_conv_linear_flops, count_flops
from gdpseg.registry import MODELS
from gdpseg.utils import load_config, register_all_modules

DEFAULT_SIZE = (512, 512)  # mmseg's get_flops default, where a config names no size


def _pipeline_size(cfg):
    """The crop size of the config's pipelines (test first, then val, then train), or None:
    mmpretrain's ``CenterCrop``/``RandomCrop``, mmseg's ``RandomCrop`` (``crop_size``: an int, or
    (H, W))."""
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        pipeline = ((cfg.get(loader) or {}).get('dataset') or {}).get('pipeline') or []
        for t in pipeline:
            size = t.get('crop_size') if isinstance(t, dict) else None
            if isinstance(size, int):
                return size, size
            if isinstance(size, (list, tuple)) and len(size) == 2:
                return tuple(size)
    return None


def _channels(model_cfg) -> int:
    """Input channels of a config's model: its data preprocessor's mean (one per channel),
    else its backbone's ``in_channels``, else 3."""
    model_cfg = model_cfg.get('architecture', model_cfg)
    mean = (model_cfg.get('data_preprocessor') or {}).get('mean')
    if isinstance(mean, (list, tuple)) and mean:
        return len(mean)
    return int((model_cfg.get('backbone') or {}).get('in_channels', 3))


def input_shape(cfg, shape_arg=None):
    """``(1, C, H, W)`` to count at, and where it comes from: ``--shape`` (H W or C H W), else
    the pruning model's traced ``input_shape``, else the config's crop or resize, else
    512×512; the channels from the config unless ``--shape`` gives them."""
    traced = cfg.model.get('input_shape')
    channels = traced[1] if traced else _channels(cfg.model)
    if shape_arg:
        if len(shape_arg) == 3:
            return (1, *shape_arg), '--shape'
        return (1, channels, *shape_arg), '--shape'
    if traced:
        return tuple(traced), "the model's input_shape"
    size = (cfg.model.get('data_preprocessor') or {}).get('size')
    if size:
        return (1, channels, *size), "the data preprocessor's size"
    size = _pipeline_size(cfg)
    if size:
        return (1, channels, *size), "the config's pipeline"
    return (1, channels, *DEFAULT_SIZE), 'no size in the config (pass --shape H W)'


def main(argv=None):
    parser = argparse.ArgumentParser(description='Count FLOPs of a config\'s model')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--shape', type=int, nargs='+', metavar='N',
                        help='input size: H W, or C H W (default: from the config)')
    parser.add_argument('--latency', action='store_true',
                        help='time the network at batch 1 (PyTorch and ONNX Runtime, CPU)')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads for --latency')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error in the config, data or files')
    args = parser.parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    if args.shape and len(args.shape) not in (2, 3):
        raise ValueError(f'--shape takes H W or C H W, got {len(args.shape)} numbers')
    # default: the GDP trace size, else the model's crop size (the data preprocessor's, the
    # pipeline's), so a baseline and its GDP config are counted at the same size
    shape, source = input_shape(cfg, args.shape)
    if str(cfg.model.get('type', '')).endswith('GDPAlgorithm'):
        cfg.model.input_shape = shape
    if args.checkpoint and is_export(args.checkpoint):
        model = load_export(args.checkpoint)
        if not args.shape:
            shape = tuple(export_input_shape(args.checkpoint) or shape)
    else:
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
            model = MODELS.build(cfg.model).eval()
        if args.checkpoint:
            load_weights(model, args.checkpoint)
    gates = getattr(model, 'gates', None)
    target = model.architecture if gates is not None else model
    if gates is not None:
        gates.detach()  # count the network, not the gate products
    x = torch.zeros(shape)
    try:
        total = count_flops(TensorMode(target), (x,))
    except RuntimeError as exc:  # e.g. a conv expecting other input channels
        raise ValueError(f'the model does not run on an input of shape {tuple(shape)} '
                         f'(from {source}): {str(exc).splitlines()[0]}. Pass --shape H W '
                         'or --shape C H W') from exc
    conv_linear = count_conv_linear_flops(TensorMode(target), (x,))
    params = sum(p.numel() for n, p in target.named_parameters())
    line = '=' * 60
    print(f'{line}\nInput shape: {shape} ({source})\n'
          f'FLOPs (all ops mmengine counts): {total / 1e9:.2f} G ({total:,})\n'
          f'FLOPs (conv+linear): {conv_linear / 1e9:.2f} G ({conv_linear:,})\n'
          f'Params: {params / 1e6:.2f} M ({params:,})')
    if gates is not None:
        print(f'GDP groups: {sum(g.prunable for g in gates.groups)} prunable of '
              f'{len(gates.groups)}; as exported: {gates.flops() / 1e9:.2f} G conv+linear '
              f'({100 * gates.flops_ratio():.2f} %)')
    result = dict(shape=list(shape), flops=conv_linear, flops_all=total, params=params)
    if args.latency:
        from gdpseg.deploy import Timer
        for backend in ('torch', 'onnxruntime'):  # the same call the counts above trace
            ms = Timer(backend, args.threads, min_seconds=1.0)(TensorMode(target), x)
            result[f'{backend}_ms'] = ms
            print(f'Latency ({backend}, CPU, batch 1, {args.threads} threads): {ms:.2f} ms')
    print(line)
    return result
