# DeepLabV3+ as in the public implementation the GDP paper follows: torchvision-style ResNet-50,
# output stride 16, ASPP rates 6/12/18 + image pooling, 256 channels, 48-channel low-level
# projection, 3x3 decoder conv. Wrapped in PlainSegmentor for mmseg's data, loss and metrics.
num_classes = 21
data_preprocessor = dict(
    type='mmseg.SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(513, 513))
model = dict(
    type='PlainSegmentor',
    num_classes=num_classes,
    ignore_index=255,
    data_preprocessor=data_preprocessor,
    network=dict(
        type='DeepLabV3Plus',
        num_classes=num_classes,
        depth=50,
        output_stride=16,
        rates=(6, 12, 18),
        aspp_channels=256,
        low_level_proj=48,
        # local torchvision ImageNet weights (resnet50-*.pth); nothing is downloaded
        backbone_checkpoint=None))
