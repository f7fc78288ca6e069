# The pruned architecture of an export trained from scratch (a uniform plan: a thinner ResNet-20),
# with the baseline's recipe.
#   python tools/train.py configs/fashion/resnet20_fmnist_scratch.py \
#       --cfg-options model.plan=DIR/plan.json
_base_ = ['./resnet20_fmnist_baseline.py']
model = dict(_delete_=True, type='PrunedModel',
             plan='work_dirs/fmnist_l1_export/plan.json', reinit=True)
