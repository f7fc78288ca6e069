# Fine-tune an export on inputs resized to the resolution it was found at (20x20 here; another
# resolution R: train_dataloader.dataset.pipeline.2.scale=(R,R) and the same for
# val_dataloader.dataset.pipeline.0 and test_dataloader.dataset.pipeline.0).
_base_ = ['./resnet20_fmnist_finetune.py']
_res = [dict(type='Resize', scale=(20, 20))]
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline[:2] + _res +
                                     _base_.train_pipeline[2:]))
val_dataloader = dict(dataset=dict(pipeline=_res + _base_.test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_res + _base_.test_pipeline))
