# One-shot L1-norm filter pruning (PFEC; score='random' for random channels) of the
# Fashion-scenes DeepLabV3+ R18 baseline; fine-tune the export with
# deeplabv3plus_r18_fscenes_finetune.py (model.plan=EXPORT/plan.json).
_base_ = ['./deeplabv3plus_r18_fscenes_baseline.py']
model = dict(
    _delete_=True,
    type='OneShotPruning',
    architecture=_base_.model,
    input_shape=(1, 3, 128, 128),
    forward_mode='tensor',
    ratio=0.5,
    score='l1',
    scope='uniform')
