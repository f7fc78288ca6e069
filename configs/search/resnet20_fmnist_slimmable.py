# Width search under a budget on the Fashion-MNIST ResNet-20 (a weight-sharing network, then a
# greedy search on the validation split, AutoSlim's recipe on the engine's channel groups):
#   1. train the slimmable network from the baseline (each step: the full widths, the smallest
#      (a sixteenth of every prunable group: 1, 2 and 4 of the blocks' 16, 32 and 64 inner
#      channels, so that the study's 10 % budget is within the space; its residual streams are
#      fixed, and at a quarter the smallest subnet needed 25.3 % of the FLOPs) and two random
#      widths, the channels ordered once by their filters' L1 norm):
#        python tools/train.py configs/search/resnet20_fmnist_slimmable.py
#   2. search the widths within a FLOPs share (or --latency-ms MS --latency-table TABLE.json),
#      scoring candidates on the 5,000 held-out training images (the validation split), and
#      export them:
#        python tools/search.py configs/search/resnet20_fmnist_slimmable.py \
#            work_dirs/resnet20_fmnist_slimmable/iter_1500.pth --flops 0.25 --out DIR
#   3. fine-tune the found network (configs/fashion/resnet20_fmnist_finetune.py with
#      model.plan=DIR/plan.json), or train its architecture from scratch as the reference does
#      (configs/fashion/resnet20_fmnist_scratch.py with model.plan=DIR/plan.json).
# Needs `apt-get install dataset-fashion-mnist` (or the data_root of the dataloaders).
_base_ = ['../fashion/resnet20_fmnist_baseline.py']
model = dict(
    _delete_=True,
    type='SlimmableNetwork',
    architecture=_base_.model,
    input_shape=(1, 1, 28, 28),
    forward_mode='tensor',
    min_share=0.0625,
    num_random=2)
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=1500, val_interval=1500)
default_hooks = dict(checkpoint=dict(interval=1500))
load_from = 'work_dirs/resnet20_fmnist_baseline/iter_4000.pth'
custom_hooks = [dict(type='PruningHook')]  # orders the channels once, on the loaded weights
