# Fast style transfer (Johnson et al.; pytorch/examples fast_neural_style): TransformerNet with a
# frozen VGG-16 perceptual loss (content relu2_2 x1e5, style Gram matrices of relu1_2/2_2/3_3/4_3
# x1e10), Adam 1e-3, batch 4, 256² crops, 2 epochs of COCO-2014 train (~41k iterations).
#   python tools/train.py configs/style/transformernet_baseline.py
# Data: content images in any folder (default data/coco/train2014), one style image
# (data/styles/style.jpg), VGG-16 weights as torchvision's file (data/pretrained/vgg16-397923af.pth).
_base_ = ['../_base_/default_runtime.py']
content_root = 'data/coco/train2014/'
val_root = 'data/coco/val2014/'
model = dict(
    type='StyleTransferModel',
    network=dict(type='TransformerNet'),
    style_image='data/styles/style.jpg',
    loss_network=dict(weights='data/pretrained/vgg16-397923af.pth'),
    content_weight=1e5,
    style_weight=1e10)
train_dataloader = dict(
    batch_size=4, num_workers=4,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ImageFolder', data_root=content_root, size=256))
val_dataloader = dict(
    batch_size=4, num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageFolder', data_root=val_root, size=256, max_images=200))
test_dataloader = val_dataloader
val_evaluator = dict(type='StyleLossMetric', content_weight=1e5, style_weight=1e10)
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=41000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend'),
                                                   dict(type='TensorboardVisBackend')],
                  name='visualizer')
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3),
    visualization=dict(_delete_=True, type='StyleSamplesHook', num_samples=8))
