"""Sweep public model families through the engine: exactness, FLOPs agreement, prunable share.

Every model is built from an installed package with random weights, traced on a small input,
exported with a random plan (about a third of every prunable group removed, random factors,
some groups removed entirely), and compared with the model whose layers see the same factors.

    python tools/benchmark/model_sweep.py                    # every family below
    python tools/benchmark/model_sweep.py --only timm:mixnet_s tv:resnext50_32x4d
    python tools/benchmark/model_sweep.py --out docs/model_sweep.md

Columns: groups prunable / all, output channels of conv/linear layers that belong to prunable
groups / all (share), the export's largest relative difference from the masked model, the plan's
FLOPs against mmengine's counter on the export, and the fixed reasons that cover most channels.
"""
import argparse
import collections
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gdpseg.core import (export_difference, full_plan, plan_flops, prune,  # noqa: E402
                         trace_groups)
from gdpseg.core.nested import max_difference  # noqa: E402
from gdpseg.deploy.onnx import FlatOutputs  # noqa: E402
from gdpseg.core.verify import masked_outputs, random_plan  # noqa: E402
from gdpseg.evaluation import count_conv_linear_flops  # noqa: E402

TORCHVISION = ['resnet18', 'resnet50', 'resnext50_32x4d', 'wide_resnet50_2', 'regnet_x_400mf',
               'regnet_y_400mf', 'mobilenet_v2', 'mobilenet_v3_small', 'mnasnet0_5',
               'efficientnet_b0', 'shufflenet_v2_x1_0', 'squeezenet1_1', 'densenet121',
               'vgg11_bn', 'convnext_tiny', 'googlenet']
TIMM = ['resnet26d', 'seresnext26d_32x4d', 'regnetx_002', 'regnety_002', 'mixnet_s',
        'ghostnet_100', 'rexnet_100', 'cspresnet50', 'cspdarknet53', 'res2net50_26w_4s',
        'dpn68', 'skresnet18', 'resnest14d', 'nf_resnet26', 'convnext_atto', 'mobilevit_xxs',
        'efficientnet_b0', 'tf_mobilenetv3_small_100', 'dla34', 'ese_vovnet19b_dw', 'gernet_s',
        'repvgg_a0', 'hrnet_w18_small', 'lcnet_050', 'fbnetc_100', 'mobileone_s0', 'fastvit_t8',
        'inception_next_tiny', 'vit_tiny_patch16_224', 'deit_tiny_patch16_224',
        'swin_tiny_patch4_window7_224', 'convnextv2_atto',
        # edge transformers and hybrids
        'efficientvit_b0', 'efficientvit_m0', 'repvit_m0_9', 'edgenext_xx_small', 'poolformer_s12',
        'poolformerv2_s12', 'mobilevitv2_050', 'levit_128s', 'efficientformer_l1',
        'efficientformerv2_s0', 'tiny_vit_5m_224', 'pvt_v2_b0', 'coat_lite_tiny',
        'maxvit_nano_rw_256', 'caformer_s18', 'convformer_s18', 'twins_svt_small',
        'xcit_nano_12_p16_224', 'nextvit_small', 'ghostnetv2_100', 'mobilenetv4_conv_small',
        'hgnetv2_b0', 'regnetz_b16', 'mambaout_femto', 'cs3darknet_s', 'cspresnext50']
# timm models built for another input size: (keyword arguments, input shape)
TIMM_SIZES = {'vit_tiny_patch16_224': (dict(img_size=64), (2, 3, 64, 64)),
              'deit_tiny_patch16_224': (dict(img_size=64), (2, 3, 64, 64)),
              'swin_tiny_patch4_window7_224': ({}, (1, 3, 224, 224)),  # 4 stages of 7x7 windows
              **{n: ({}, (1, 3, 224, 224)) for n in (  # built for their input size
                  'levit_128s', 'efficientformer_l1', 'efficientformerv2_s0', 'tiny_vit_5m_224',
                  'coat_lite_tiny', 'twins_svt_small', 'xcit_nano_12_p16_224', 'nextvit_small')},
              'maxvit_nano_rw_256': ({}, (1, 3, 256, 256))}
SMP = ['Unet:resnet18', 'FPN:resnet18', 'DeepLabV3Plus:resnet34', 'Linknet:resnet18',
       'PSPNet:resnet18', 'PAN:resnet18', 'MAnet:resnet18', 'UnetPlusPlus:resnet18',
       'Unet:efficientnet-b0', 'FPN:resnext50_32x4d']
MMDET = ['retinanet/retinanet_r50_fpn_1x_coco.py', 'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
         'atss/atss_r50_fpn_1x_coco.py', 'gfl/gfl_r50_fpn_1x_coco.py',
         'yolox/yolox_s_8xb8-300e_coco.py', 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
         'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 'tood/tood_r50_fpn_1x_coco.py']
MMSEG = ['ocrnet/ocrnet_hr18s_4xb4-80k_ade20k-512x512.py',
         'segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py',
         'fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py']
# mmpretrain classifiers: a config of mmpretrain's, or a backbone with a plain head built here
MMPRETRAIN = {'shufflenet_v1': dict(type='ShuffleNetV1', groups=3),
              'convnext-tiny': 'convnext/convnext-tiny_32xb128_in1k.py',
              'deit-tiny': 'deit/deit-tiny_4xb256_in1k.py',
              'convnext-v2-atto': 'convnext_v2/convnext-v2-atto_32xb32_in1k.py'}
FAMILIES = ([f'tv:{n}' for n in TORCHVISION] + [f'timm:{n}' for n in TIMM] +
            [f'smp:{n}' for n in SMP] + [f'mmdet:{n}' for n in MMDET] +
            [f'mmseg:{n}' for n in MMSEG] + [f'mmpretrain:{n}' for n in MMPRETRAIN])
# The cases behind each rule of the engine that the sweep found (CI runs these).
FAST = ['tv:regnet_x_400mf', 'timm:mixnet_s', 'timm:nf_resnet26', 'smp:FPN:resnet18',
        'mmdet:rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        'mmdet:faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']


def build(spec):
    """``(model, input shape, forward_fn)`` of a family entry."""
    kind, _, name = spec.partition(':')
    if kind == 'tv':
        import torchvision
        kwargs = dict(aux_logits=False, init_weights=True) if name == 'googlenet' else {}
        return torchvision.models.get_model(name, num_classes=10, **kwargs), (2, 3, 64, 64), None
    if kind == 'timm':
        import timm
        kwargs, shape = TIMM_SIZES.get(name, ({}, (2, 3, 64, 64)))
        return timm.create_model(name, pretrained=False, num_classes=10, **kwargs), shape, None
    if kind == 'smp':
        import segmentation_models_pytorch as smp
        arch, encoder = name.split(':')
        return getattr(smp, arch)(encoder_name=encoder, encoder_weights=None, classes=3), \
            (1, 3, 128, 128), None  # PAN's pyramid pooling needs more than 64²
    if kind == 'mmdet':
        return _mmdet(name)
    if kind == 'mmseg':
        return _mmseg(name)
    if kind == 'mmpretrain':
        return _mmpretrain(name)
    raise ValueError(f'unknown family {kind!r} in {spec!r} (tv:, timm:, smp:, mmdet:, mmseg:, '
                     'mmpretrain:)')


def _no_sync_bn(cfg):
    """The config with SyncBN as BN (SyncBN needs a process group to train)."""
    if isinstance(cfg, dict):
        return {k: ('BN' if k == 'type' and v == 'SyncBN' else _no_sync_bn(v))
                for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_no_sync_bn(v) for v in cfg)
    return cfg


def _mmpretrain(name):
    import mmpretrain
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    from mmpretrain.utils import register_all_modules

    register_all_modules()
    spec = MMPRETRAIN[name]
    if isinstance(spec, dict):  # a backbone with a plain classifier on top
        model_cfg = dict(type='ImageClassifier', backbone=spec,
                         neck=dict(type='GlobalAveragePooling'),
                         head=dict(type='LinearClsHead', num_classes=10, in_channels=-1))
        backbone = MODELS.build(dict(spec))
        backbone.eval()  # (mmpretrain's ShuffleNetV1.train returns None)
        with torch.no_grad():
            feats = backbone(torch.randn(1, 3, 64, 64))[-1]
        model_cfg['head']['in_channels'] = feats.shape[1]
        shape = (2, 3, 64, 64)
    else:
        cfg = Config.fromfile(str(Path(mmpretrain.__file__).parent / '.mim' / 'configs' / spec))
        model_cfg = _no_sync_bn(cfg.model.to_dict())
        model_cfg['head']['num_classes'] = 10
        model_cfg.pop('init_cfg', None)
        model_cfg['backbone'].pop('init_cfg', None)
        shape = (1, 3, 224, 224)
    return MODELS.build(model_cfg), shape, lambda m, inputs: m(inputs[0], mode='tensor')


def _mmseg(config):
    import mmseg
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(str(Path(mmseg.__file__).parent / '.mim' / 'configs' / config))
    model_cfg = _no_sync_bn(cfg.model.to_dict())
    model_cfg.pop('pretrained', None)
    model_cfg.get('backbone', {}).pop('init_cfg', None)
    model = MODELS.build(model_cfg)
    return model, (1, 3, 64, 64), lambda m, inputs: m(inputs[0], mode='tensor')


def _mmdet(config):
    import mmdet
    from mmengine.config import Config
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(str(Path(mmdet.__file__).parent / '.mim' / 'configs' / config))
    model_cfg = cfg.model
    for part in ('backbone', 'neck'):
        if isinstance(model_cfg.get(part), dict):
            model_cfg[part].pop('init_cfg', None)
    model = MODELS.build(model_cfg)

    def forward(m, inputs):
        feats = m.extract_feat(inputs[0])
        if hasattr(m, 'bbox_head'):
            return m.bbox_head.forward(feats)
        from mmdet.structures.bbox import bbox2roi
        boxes = torch.tensor([[0, 0, 60, 60.], [0, 0, 150, 150], [0, 0, 300, 300],
                              [0, 0, 600, 600]])  # one RoI per FPN level
        rois = m.roi_head._bbox_forward(feats, bbox2roi([boxes]))
        return m.rpn_head.forward(feats), rois['cls_score'], rois['bbox_pred']
    return model, (1, 3, 64, 64), forward


def layer_channels(groups):
    """(output channels of conv/linear layers in prunable groups, all of them); depthwise convs
    are left out (their channels are their input's)."""
    modules = dict(groups.model.named_modules())
    prunable = total = 0
    for rec in groups.graph.modules.values():
        for s in rec.out_segs or ():
            n = groups.graph.sizes[s.node] * s.expand
            total += n
            prunable += n if groups.group_of(s).prunable else 0
        if rec.kind == 'grouped':  # a member of its input's group, writing its own channels
            n = modules[rec.name].out_channels
            total += n
            prunable += n if groups.group_of(rec.in_segs[0]).prunable else 0
    return prunable, total


def calibrate_norms(model, x, fn):
    """BatchNorm statistics of one random batch, so that random weights give activations of
    order one in every layer (with default statistics deep nets such as GoogLeNet send a
    constant to their output, which would make the comparison meaningless)."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: one batch gives its exact statistics
    model.train()
    with torch.no_grad():
        fn(model, (x,)) if fn else model(x)
    model.eval()


def sweep_one(spec, seed=0, unfuse=False):
    torch.manual_seed(seed)
    model, shape, fn = build(spec)
    if unfuse:  # nn.MultiheadAttention written out (PruningAlgorithm's unfuse_attention)
        from gdpseg.core.unfused_attention import unfuse_attention
        unfuse_attention(model)
    x = torch.randn(*shape)
    calibrate_norms(model, torch.randn(max(2, shape[0]), *shape[1:]), fn)  # batch 2 for BN
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        groups = trace_groups(model, (x,), forward_fn=fn)
    fixed = collections.Counter()
    for g in groups.groups:
        if not g.prunable:
            for r in g.reasons:
                fixed[r.split(' in ')[0]] += g.channels
    # dead groups exercise carriers, but several of them can leave an output constant; the
    # plan without dead groups checks outputs that depend on every group
    diff = max(export_difference(groups, random_plan(groups, seed, dead), (x,), fn)
               for dead in (0.0, 0.2))
    # how much the plan changes the output: a tiny change (ConvNeXt's layer scale starts at
    # 1e-6, so its MLP branches barely count) makes the exactness check weak
    effect = max_difference(masked_outputs(groups, full_plan(groups), (x,), fn),
                            masked_outputs(groups, random_plan(groups, seed, 0.0), (x,), fn))
    plan = random_plan(groups, seed)
    pruned = prune(model, groups, plan)
    pruned.eval()  # not chained: some models' train() returns None

    counted = count_conv_linear_flops(FlatOutputs(pruned, fn), (x,))
    with torch.no_grad():  # a constant output would make the comparison meaningless
        other = FlatOutputs(model, fn)(torch.randn(*shape))
        varies = max_difference(FlatOutputs(model, fn)(x), other) > 1e-6
    full_counted = count_conv_linear_flops(FlatOutputs(model, fn), (x,))
    prunable, total = layer_channels(groups)
    return dict(
        model=spec, groups=f'{sum(g.prunable for g in groups.groups)}/{len(groups.groups)}',
        channels=prunable, total=total,
        diff=diff, flops=plan_flops(groups, plan), counted=counted,
        full_ok=groups.full_flops() == full_counted, varies=varies, effect=effect,
        warnings=sum(str(w.message).startswith('gdpseg') for w in caught),
        fixed=', '.join(f'{r} ({n})' for r, n in fixed.most_common(2)
                        if r not in ('network input', 'network output')),
        seconds=time.perf_counter() - start)


def weak(effect):
    """A note when the plan changes the output too little for the comparison to mean much."""
    return f' (the plan changes the output by only {effect:.0e})' if effect < 1e-3 else ''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', nargs='*', help='family entries to run (default: all)')
    parser.add_argument('--fast', action='store_true', help=f'only {FAST}')
    parser.add_argument('--out', help='also write the Markdown table here')
    parser.add_argument('--unfuse-attention', action='store_true',
                        help='write out every nn.MultiheadAttention first (as '
                             'unfuse_attention=True does), so that its heads can be pruned')
    args = parser.parse_args(argv)
    specs = args.only or (FAST if args.fast else FAMILIES)
    lines = ['| model | prunable groups | prunable layer channels | max rel. diff | '
             'FLOPs plan = counter | most channels fixed by | s |', '|---|---|---|---|---|---|---|']
    exact = 0
    for k, spec in enumerate(specs, 1):
        print(f'[{k}/{len(specs)}] {spec} ...', end=' ', flush=True)
        try:
            r = sweep_one(spec, unfuse=args.unfuse_attention)
        except Exception as e:  # a row per failure: the sweep is a report, not a test
            print(f'FAILED: {type(e).__name__}: {str(e).splitlines()[0][:200]}')
            lines.append(f'| {spec} | error | | | | {type(e).__name__}: '
                         f'{str(e).splitlines()[0][:100]} | |')
            continue
        ok = r['diff'] <= 1e-4 and r['flops'] == r['counted'] and r['full_ok'] and r['varies']
        exact += ok
        share = 100 * r['channels'] / max(1, r['total'])
        row = (f"| {spec} | {r['groups']} | {r['channels']:,}/{r['total']:,} ({share:.0f} %) | "
               f"{r['diff']:.1e}{'' if r['varies'] else ' (constant output!)'}"
               f"{weak(r['effect'])} | "
               f"{'yes' if r['flops'] == r['counted'] else 'NO'}"
               f"{'' if r['full_ok'] else ' (full: NO)'} | {r['fixed']} | {r['seconds']:.1f} |")
        print(f"{'exact' if ok else 'NOT EXACT'}, {share:.0f} % of channels prunable")
        lines.append(row)
    lines.append(f'\n{exact} of {len(specs)} exact (outputs within 1e-4 of the gated model on '
                 'plans with and without dead groups, outputs that depend on the input, FLOPs '
                 'equal to the counter).')
    table = '\n'.join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + '\n')
    return exact, len(specs)


if __name__ == '__main__':
    main()
