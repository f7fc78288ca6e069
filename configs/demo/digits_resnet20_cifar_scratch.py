# A pruned architecture trained from scratch with the baseline's recipe: the export's layer widths,
# fresh weights. With the export of a uniform plan (digits_resnet20_cifar_l1.py) this is a
# uniformly thinner ResNet-20 (a width multiplier).
#   python tools/train.py configs/demo/digits_resnet20_cifar_scratch.py \
#       --cfg-options model.plan=work_dirs/digits_l1_export/plan.json
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(_delete_=True, type='PrunedModel',
             plan='work_dirs/digits_l1_export/plan.json', reinit=True)
