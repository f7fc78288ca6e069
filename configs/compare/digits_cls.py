# Every method at three FLOPs ratios and three seeds on the digits classification demo
# (ResNet-20, scikit-learn's digits in CIFAR-10 layout, 1297 training / 500 test images), each
# method given the same training after the shared 400-iteration baseline: 300 iterations in all
# (pruning-time training + fine-tuning), fine-tuned with the same recipe. What trains from
# scratch (GDP from scratch, the uniformly thinner network, also on lower-resolution inputs)
# gets the baseline's 400 too: 700.
#   python tools/compare.py configs/compare/digits_cls.py --jobs 2
title = 'Digits classification, ResNet-20 (top-1 on 500 test images)'
work_dir = 'work_dirs/compare/digits_cls'
metric = 'accuracy/top1'
metric_label = 'top-1 (%)'
seeds = [0, 1, 2]
# training iterations of every method after the baseline (from scratch: in all); checked
budget = dict(default=300, from_scratch=700)
ratios = [0.6, 0.35, 0.15]
_res = [4 * round(8 * r ** 0.25) for r in ratios]  # input sizes of the width x resolution rows
setup = [dict(call='gdpseg.datasets.make_digits_cifar', root='{work_dir}/data',
              num_train=1297, num_test=500)]
_data = '{work_dir}/data/'
options = [f'train_dataloader.dataset.data_root={_data}',
           f'val_dataloader.dataset.data_root={_data}',
           f'test_dataloader.dataset.data_root={_data}',
           'randomness.seed={seed}', 'train_cfg.val_interval=100000']
_demo = 'configs/demo/digits_resnet20_cifar_'
baseline = [dict(train=_demo + 'baseline.py')]


def _iters(n):  # a training stage of n iterations with its cosine schedule
    return [f'train_cfg.max_iters={n}', f'param_scheduler.0.T_max={n}',
            f'default_hooks.checkpoint.interval={n}']


_prune_time, _finetune = 200, 100  # training-time methods: 200 + 100 = 300
_ft = [dict(train=_demo + 'finetune.py', options=['model.plan={export}/plan.json'] +
            _iters(_finetune))]
_ft_all = [dict(train=_demo + 'finetune.py', options=['model.plan={export}/plan.json'] +
                _iters(_prune_time + _finetune))]
_gdp = [dict(train=_demo + 'gdp.py', name='gdp', options=[
            'load_from={baseline}', 'custom_hooks.0.lam.ratio={ratio}',
            # the paper's gate lr: these tables were recorded before the balance rule
            'custom_hooks.0.min_gate_lr_sum=None'] + _iters(_prune_time)),
        dict(test=_demo + 'gdp.py', record='gated'),
        dict(prune=_demo + 'gdp.py')]
_one_shot = dict(prune=_demo + 'l1.py', checkpoint='{baseline}')
_uniform = ['model.ratio={ratio}', 'model.fill=False']  # the rounded share the rows were run with
_slim_res = 'configs/search/digits_resnet20_cifar_slimmable_res.py'
_at_res = [f'{k}.dataset.pipeline.{i}.scale=({{resolution}},{{resolution}})'
           for k, i in (('train_dataloader', 1), ('val_dataloader', 0), ('test_dataloader', 0))]

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
    dict(name='gdp_glr', label='GDP, gate lr ×100',
         stages=[dict(_gdp[0], options=_gdp[0]['options'] +
                      ['optim_wrapper.paramwise_cfg.gate_lr_mult=100']), *_gdp[1:]] + _ft),
    dict(name='gdp_scratch', label='GDP from scratch', from_scratch=True,  # 600 + 100
         stages=[dict(_gdp[0], options=['load_from=None', 'custom_hooks.0.lam.ratio={ratio}'] +
                      _iters(600)), *_gdp[1:]] + _ft),
    dict(name='gdp_kernel', label='GDP ablation: gates of conv kernels (Eq. 10)',
         stages=[dict(_gdp[0], train=_demo + 'kernel_gdp.py'),
                 dict(test=_demo + 'kernel_gdp.py', record='gated'),
                 dict(prune=_demo + 'kernel_gdp.py')] + _ft),
    dict(name='l1', label='L1 filters (PFEC)',
         stages=[dict(_one_shot, options=_uniform)] + _ft_all),
    dict(name='l1_clr', label='L1 filters, one-cycle fine-tuning',
         stages=[dict(_one_shot, options=_uniform),
                 dict(train=_demo + 'finetune_clr.py', options=[
                     'model.plan={export}/plan.json', 'train_cfg.max_iters=300',
                     'param_scheduler.0.end=75', 'param_scheduler.1.begin=75',
                     'param_scheduler.1.end=300', 'param_scheduler.1.T_max=225',
                     'default_hooks.checkpoint.interval=300'])]),
    dict(name='l1_rewind', label='L1 filters, LR rewinding',
         stages=[dict(_one_shot, options=_uniform),
                 dict(train=_demo + 'finetune_rewind.py', options=[
                     'model.plan={export}/plan.json', 'train_cfg.max_iters=300',
                     'param_scheduler.0.rewind=100', 'default_hooks.checkpoint.interval=300'])]),
    dict(name='random', label='random channels',
         stages=[dict(_one_shot, options=_uniform + ['model.score=random',
                                          'model.seed={seed}'])] + _ft_all),
    dict(name='slimming', label='Network Slimming',
         stages=_trained('slimming.py')),
    dict(name='sfp', label='Soft Filter Pruning',
         stages=_trained('sfp.py')),
    dict(name='scs', label='continuous sparsification',
         stages=_trained('scs.py')),
    dict(name='sl0', label='GDP ablation: naive SL0 (Eq. 11)',
         stages=_trained('sl0.py')),
    dict(name='scratch', label='uniform width, from scratch', from_scratch=True,
         stages=[dict(_one_shot, options=_uniform),
                 dict(train=_demo + 'scratch.py', options=['model.plan={export}/plan.json'] +
                      _iters(700))]),
    dict(name='bwcp', label='BWCP (without batch whitening)',
         stages=_trained('bwcp.py')),
    dict(name='bwcp_weak', label='BWCP, λ₁ = λ₂ = 5e-3',
         stages=_trained('bwcp.py', ['model.lam_gamma=5e-3', 'model.lam_beta=5e-3'])),
    dict(name='bwcp_bw', label='BWCP with batch whitening', stages=_trained('bwcp_bw.py')),
    dict(name='search', label='width search (slimmable + greedy, AutoSlim)', stages=[
        dict(train='configs/search/digits_resnet20_cifar_slimmable.py',
             options=['load_from={baseline}'] + _iters(_prune_time)),
        dict(search='configs/search/digits_resnet20_cifar_slimmable.py')] + _ft),
    # widths and input resolution searched together; the export fine-tuned (and tested) at
    # the resolution the search found
    dict(name='search_res', label='width × resolution search (slimmable + greedy)', stages=[
        dict(train=_slim_res, options=['load_from={baseline}'] + _iters(_prune_time)),
        dict(search=_slim_res, test_options=[_at_res[2]]),
        dict(train=_demo + 'finetune_res.py', options=['model.plan={export}/plan.json'] +
             _at_res + _iters(_finetune))]),
    dict(name='growing', label='growing from a seed (SCS growing mode)', from_scratch=True,
         stages=[dict(train=_demo + 'growing.py', options=['model.ratio={ratio}'] + _iters(700)),
                 dict(prune=_demo + 'growing.py', options=['model.ratio={ratio}'])]),
    dict(name='growing_blocks', label='growing channels and blocks from a seed',
         from_scratch=True,
         stages=[dict(train=_demo + 'growing.py', options=['model.ratio={ratio}',
                                                           'model.grow_blocks=True'] +
                      _iters(700)),
                 dict(prune=_demo + 'growing.py', options=['model.ratio={ratio}',
                                                           'model.grow_blocks=True'])]),
    # the width x resolution rescale: each multiplier takes half the FLOPs cut (in log): the
    # resolution 32·ratio^(1/4) rounded to a multiple of 4, the width share the rest
    dict(name='scratch_res', label='uniform width × input resolution, from scratch',
         from_scratch=True,
         per_ratio=dict(res=_res, width=[r / (s / 32) ** 2 for r, s in zip(ratios, _res)]),
         stages=[dict(_one_shot, full_shape=(1, 3, 32, 32), options=[
                     'model.ratio={width}', 'model.fill=False',
                     'model.input_shape=(1,3,{res},{res})']),
                 dict(train=_demo + 'scratch_res.py', options=[
                     'model.plan={export}/plan.json',
                     'train_dataloader.dataset.pipeline.1.scale=({res},{res})',
                     'val_dataloader.dataset.pipeline.0.scale=({res},{res})',
                     'test_dataloader.dataset.pipeline.0.scale=({res},{res})'] + _iters(700))]),
    # the input-only rescale: every channel, inputs resized to the largest size whose FLOPs
    # are within the ratio (the strides round the positions: 24², 18², 12² give 56.3, 34.0 and
    # 14.1 % of the FLOPs at 32², measured with the counter)
    dict(name='scratch_input', label='full width, lower input resolution, from scratch',
         from_scratch=True, per_ratio=dict(res=[24, 18, 12]),
         stages=[dict(_one_shot, full_shape=(1, 3, 32, 32), options=[
                     'model.ratio=1.0', 'model.fill=False', 'model.input_shape=(1,3,{res},{res})']),
                 dict(train=_demo + 'scratch_res.py', options=[
                     'model.plan={export}/plan.json',
                     'train_dataloader.dataset.pipeline.1.scale=({res},{res})',
                     'val_dataloader.dataset.pipeline.0.scale=({res},{res})',
                     'test_dataloader.dataset.pipeline.0.scale=({res},{res})'] + _iters(700))]),
]
