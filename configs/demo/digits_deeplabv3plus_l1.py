# One-shot L1-norm filter pruning (PFEC) of the segmentation demo baseline to half its FLOPs;
# fine-tune the export with digits_deeplabv3plus_finetune.py (model.plan=EXPORT/plan.json).
#   python tools/prune.py configs/demo/digits_deeplabv3plus_l1.py \
#       work_dirs/demo/baseline/iter_800.pth --out work_dirs/demo/l1_export
_base_ = ['./digits_deeplabv3plus_baseline.py']
model = dict(
    _delete_=True,
    type='OneShotPruning',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor',
    ratio=0.5,
    score='l1',
    scope='uniform')
