# The segmentation demo (a small DeepLabV3+, scikit-learn digits on 64x64 canvases in VOC
# layout, 256 training / 64 validation images) at three FLOPs ratios and three seeds: GDP, its
# variants and the paper's ablations against Network Slimming, Soft Filter Pruning, one-shot L1
# and random pruning, continuous sparsification and BWCP.
# Every method gets 400 iterations after the shared 800-iteration baseline (pruning-time
# training + fine-tuning), fine-tuned with the same recipe; GDP from scratch gets the
# baseline's 800 too: 1200. More methods: as in digits_cls.py.
#   python tools/compare.py configs/compare/digits_seg.py --jobs 1 --threads 2
title = 'Digits segmentation, DeepLabV3+ R18 (mIoU on 64 images)'
work_dir = 'work_dirs/compare/digits_seg'
metric = 'mIoU'
metric_label = 'mIoU (%)'
seeds = [0, 1, 2]
# training iterations of every method after the baseline; checked before anything runs
budget = dict(default=400, from_scratch=1200)
ratios = [0.6, 0.35, 0.15]
setup = [dict(call='gdpseg.datasets.make_digits_voc', root='{work_dir}/data/VOCdevkit/VOC2012',
              num_train=256, num_val=64, digits_per_image=(1, 2), digit_size=(0.4, 0.7))]
_data = '{work_dir}/data/VOCdevkit/VOC2012'
options = [f'train_dataloader.dataset.data_root={_data}',
           f'val_dataloader.dataset.data_root={_data}',
           f'test_dataloader.dataset.data_root={_data}',
           'randomness.seed={seed}', 'train_cfg.val_interval=100000']
_demo = 'configs/demo/digits_deeplabv3plus_'
baseline = [dict(train=_demo + 'baseline.py')]


def _iters(n):  # a training stage of n iterations with its poly schedule
    return [f'train_cfg.max_iters={n}', f'param_scheduler.0.end={n}',
            f'default_hooks.checkpoint.interval={n}']


_prune_time, _finetune = 250, 150  # training-time methods: 250 + 150 = 400
_ft = [dict(train=_demo + 'finetune.py', options=['model.plan={export}/plan.json'] +
            _iters(_finetune))]
_ft_all = [dict(train=_demo + 'finetune.py', options=['model.plan={export}/plan.json'] +
                _iters(_prune_time + _finetune))]
_gdp = [dict(train=_demo + 'gdp_target.py', name='gdp', options=[
            'load_from={baseline}', 'custom_hooks.0.lam.ratio={ratio}',
            # the paper's gate lr: these tables were recorded before the balance rule
            'custom_hooks.0.min_gate_lr_sum=None'] + _iters(_prune_time)),
        dict(test=_demo + 'gdp_target.py', record='gated'),
        dict(prune=_demo + 'gdp_target.py')]
_one_shot = dict(prune=_demo + 'l1.py', checkpoint='{baseline}')
_uniform = ['model.ratio={ratio}', 'model.fill=False']  # the rounded share the rows were run with

# a training-time method: train from the baseline, export at the ratio, fine-tune
def _trained(config, extra=()):
    return [dict(train=_demo + config, options=['load_from={baseline}', 'model.ratio={ratio}',
                                                *extra] + _iters(_prune_time)),
            dict(prune=_demo + config, options=['model.ratio={ratio}'])] + _ft

methods = [
    dict(name='gdp', label='GDP', stages=_gdp + _ft),
    dict(name='gdp_spread', label='GDP, α spread 0.3',
         stages=[dict(_gdp[0], options=_gdp[0]['options'] + ['model.init_spread=0.3']),
                 *_gdp[1:]] + _ft),
    dict(name='gdp_keep', label='GDP, groups over 20 % of FLOPs kept',
         stages=[dict(_gdp[0], options=_gdp[0]['options'] + ['model.max_death_share=0.2']),
                 *_gdp[1:]] + _ft),
    dict(name='gdp_adamw', label='GDP with AdamW (the baseline\'s optimiser)',
         stages=[dict(_gdp[0], train=_demo + 'gdp_adamw.py'), *_gdp[1:]] + _ft),
    dict(name='gdp_glr', label='GDP, gate lr ×100',
         stages=[dict(_gdp[0], options=_gdp[0]['options'] +
                      ['optim_wrapper.paramwise_cfg.gate_lr_mult=100']), *_gdp[1:]] + _ft),
    dict(name='gdp_scratch', label='GDP from scratch', from_scratch=True,  # 1050 + 150
         stages=[dict(_gdp[0], options=['load_from=None', 'custom_hooks.0.lam.ratio={ratio}'] +
                      _iters(1050)), *_gdp[1:]] + _ft),
    dict(name='gdp_kernel', label='GDP ablation: gates of conv kernels (Eq. 10)',
         stages=[dict(_gdp[0], train=_demo + 'kernel_gdp.py'),
                 dict(test=_demo + 'kernel_gdp.py', record='gated'),
                 dict(prune=_demo + 'kernel_gdp.py')] + _ft),
    dict(name='slimming', label='Network Slimming',
         stages=_trained('slimming.py')),
    dict(name='sfp', label='Soft Filter Pruning',
         stages=_trained('sfp.py')),
    dict(name='l1', label='L1 filters (PFEC)',
         stages=[dict(_one_shot, options=_uniform)] + _ft_all),
    dict(name='random', label='random channels',
         stages=[dict(_one_shot, options=_uniform + ['model.score=random',
                                          'model.seed={seed}'])] + _ft_all),
    dict(name='scs', label='continuous sparsification',
         stages=_trained('scs.py')),
    dict(name='sl0', label='GDP ablation: naive SL0 (Eq. 11)',
         stages=_trained('sl0.py')),
    dict(name='bwcp', label='BWCP (without batch whitening)',
         stages=_trained('bwcp.py')),
]
