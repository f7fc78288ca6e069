# One-shot filter pruning of the fine-tuned EfficientNet-Lite0 (L1 norms, PFEC; score='random'
# for random channels), exported with tools/prune.py and fine-tuned by
# efficientnet_lite0_fmnist_finetune.py.
#   python tools/prune.py configs/fashion/efficientnet_lite0_fmnist_l1.py \
#       work_dirs/efficientnet_lite0_fmnist_baseline/iter_2000.pth --out work_dirs/lite0_l1
_base_ = ['./efficientnet_lite0_fmnist_baseline.py']
model = dict(
    _delete_=True,
    type='OneShotPruning',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor',
    ratio=0.5,
    score='l1',
    scope='uniform')
