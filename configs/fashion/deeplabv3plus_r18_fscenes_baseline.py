# Semi-synthetic segmentation on real images: Fashion-MNIST garments on crops of real photographs
# (gdpseg.datasets.make_fashion_scenes; 11 classes, 128x128, VOC layout; call it semi-synthetic
# in every table). A small DeepLabV3+ (ResNet-18, 64-channel ASPP) from scratch, on 2 CPU cores:
#   python -c "from gdpseg.datasets import make_fashion_scenes; \
#              make_fashion_scenes('data/fashion_scenes')"
#   python tools/train.py configs/fashion/deeplabv3plus_r18_fscenes_baseline.py
# Settings are chosen on the val split; the test split is reported (tools/test.py with
# --cfg-options test_dataloader.dataset.ann_file=ImageSets/Segmentation/test.txt is the default).
_base_ = ['../demo/digits_deeplabv3plus_baseline.py']
data_root = 'data/fashion_scenes'
crop_size = (128, 128)
model = dict(
    num_classes=11,
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           size=crop_size),
    network=dict(num_classes=11))
_dataset = dict(_scope_='mmseg', type='gdpseg.FashionScenesDataset', data_root=data_root,
                data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'))
train_dataloader = dict(batch_size=16, dataset=dict(
    _delete_=True, ann_file='ImageSets/Segmentation/train.txt',
    pipeline=_base_.train_pipeline, **_dataset))
val_dataloader = dict(dataset=dict(
    _delete_=True, ann_file='ImageSets/Segmentation/val.txt',
    pipeline=_base_.test_pipeline, **_dataset))
test_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(ann_file='ImageSets/Segmentation/test.txt', pipeline=_base_.test_pipeline,
                 **_dataset))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=3000,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=3000, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=3000))
