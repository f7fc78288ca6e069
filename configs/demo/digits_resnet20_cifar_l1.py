# One-shot L1-norm filter pruning (PFEC) of the ResNet-20 baseline to half its FLOPs: the same
# share of channels in every group, the filters with the largest L1 norms kept. No training:
# tools/prune.py scores the baseline's weights and exports; fine-tune the export as GDP's
# (digits_resnet20_cifar_finetune.py with model.plan pointing at this export).
#   python tools/prune.py configs/demo/digits_resnet20_cifar_l1.py \
#       work_dirs/digits_resnet20_cifar_baseline/iter_400.pth --out work_dirs/digits_l1_export
# Other baselines: model.score='random' | 'bn' (|γ|), model.scope='global' (one threshold).
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(
    _delete_=True,
    type='OneShotPruning',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor',
    ratio=0.5,
    score='l1',
    scope='uniform')
