# One-shot filter pruning of the Fashion-MNIST ResNet-20 baseline (L1 norms, PFEC; score='random'
# for random channels), exported with tools/prune.py and fine-tuned by resnet20_fmnist_finetune.py.
#   python tools/prune.py configs/fashion/resnet20_fmnist_l1.py \
#       work_dirs/resnet20_fmnist_baseline/iter_4000.pth --out work_dirs/fmnist_l1_export
_base_ = ['./resnet20_fmnist_baseline.py']
model = dict(
    _delete_=True,
    type='OneShotPruning',
    architecture=_base_.model,
    input_shape=(1, 1, 28, 28),
    forward_mode='tensor',
    ratio=0.5,
    score='l1',
    scope='uniform')
