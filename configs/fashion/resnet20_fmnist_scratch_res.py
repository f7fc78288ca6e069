# The uniform-rescale baselines with the input resolution: the export of a uniform plan (or every
# channel) trained from scratch on inputs resized to a lower resolution (20x20 here), tested at
# it. Count its FLOPs at that resolution: prune with the same input shape, e.g.
#   python tools/prune.py configs/fashion/resnet20_fmnist_l1.py CKPT --out DIR \
#       --cfg-options model.ratio=0.49 "model.input_shape=(1,1,20,20)"
#   python tools/train.py configs/fashion/resnet20_fmnist_scratch_res.py \
#       --cfg-options model.plan=DIR/plan.json
# Another resolution R: train_dataloader.dataset.pipeline.2.scale=(R,R) and the same for
# val_dataloader.dataset.pipeline.0 and test_dataloader.dataset.pipeline.0.
_base_ = ['./resnet20_fmnist_scratch.py']
_res = [dict(type='Resize', scale=(20, 20))]
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline[:2] + _res +
                                     _base_.train_pipeline[2:]))
val_dataloader = dict(dataset=dict(pipeline=_res + _base_.test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_res + _base_.test_pipeline))
