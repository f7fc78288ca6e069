# mmseg's own DeepLabV3+ R50-D8 VOC aug config, built offline: its ImageNet initialisation
# (open-mmlab://resnet50_v1c, a download) is switched off, as GDP starts from a trained baseline.
_base_ = ['mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-20k_voc12aug-512x512.py']
model = dict(pretrained=None)
