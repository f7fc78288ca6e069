# The uniform-rescale baseline with both multipliers: a uniformly thinner ResNet-20 (the export
# of a uniform plan) trained from scratch on inputs resized to a lower resolution (24x24 here),
# tested at that resolution. Its FLOPs are counted at that resolution: prune with the same
# input shape, e.g. a width share of 0.62 at 24x24 is ~35 % of the FLOPs at 32x32.
#   python tools/prune.py configs/demo/digits_resnet20_cifar_l1.py \
#       work_dirs/digits_resnet20_cifar_baseline/iter_400.pth --out work_dirs/digits_w62_r24 \
#       --cfg-options model.ratio=0.62 "model.input_shape=(1,3,24,24)"
#   python tools/train.py configs/demo/digits_resnet20_cifar_scratch_res.py \
#       --cfg-options model.plan=work_dirs/digits_w62_r24/plan.json
# Another resolution: train_dataloader.dataset.pipeline.1.scale=(20,20) and the same for
# val_dataloader.dataset.pipeline.0 and test_dataloader.dataset.pipeline.0.
_base_ = ['./digits_resnet20_cifar_scratch.py']
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='Resize', scale=(24, 24)),
    dict(type='PackInputs')]))
val_dataloader = dict(dataset=dict(pipeline=[dict(type='Resize', scale=(24, 24)),
                                             dict(type='PackInputs')]))
test_dataloader = dict(dataset=dict(pipeline=[dict(type='Resize', scale=(24, 24)),
                                              dict(type='PackInputs')]))
