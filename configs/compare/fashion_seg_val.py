# The validation twin of fashion_seg.py: the same stages, every metric measured on the 300 val
# canvases (ImageSets/Segmentation/val.txt) instead of the 500 test ones. Settings are chosen
# here; fashion_seg.py reports the test canvases.
#   python tools/compare.py configs/compare/fashion_seg_val.py --only gdp gdp_q --ratios 0.25 \
#       --seeds 0
# Its baselines are the same training as the study's: with that study's baselines trained,
#   ... --baseline-from work_dirs/compare/fashion_seg tests them here instead of training again.
_base_ = ['./fashion_seg.py']
title = 'Fashion scenes (semi-synthetic), DeepLabV3+ R18 (mIoU on the val canvases)'
work_dir = 'work_dirs/compare/fashion_seg_val'
options = _base_.options + [
    'test_dataloader.dataset.ann_file=ImageSets/Segmentation/val.txt']
