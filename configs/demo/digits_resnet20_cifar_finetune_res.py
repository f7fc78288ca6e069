# Fine-tune an export on inputs resized to the resolution it was found at (24x24 here; another:
# train_dataloader.dataset.pipeline.1.scale=(R,R) and the same for
# val_dataloader.dataset.pipeline.0 and test_dataloader.dataset.pipeline.0).
_base_ = ['./digits_resnet20_cifar_finetune.py']
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='Resize', scale=(24, 24)),
    dict(type='PackInputs')]))
val_dataloader = dict(dataset=dict(pipeline=[dict(type='Resize', scale=(24, 24)),
                                             dict(type='PackInputs')]))
test_dataloader = dict(dataset=dict(pipeline=[dict(type='Resize', scale=(24, 24)),
                                              dict(type='PackInputs')]))
