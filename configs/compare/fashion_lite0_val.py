# The validation twin of fashion_lite0.py: the same stages, every metric measured on the 5,000
# held-out training images (split 'val') instead of the 10,000 test images. Settings for Lite0
# (the split of the budget, tempered thresholds) are chosen here; fashion_lite0.py reports test.
#   python tools/compare.py configs/compare/fashion_lite0_val.py --only gdp_q gdp_q_p1 \
#       --ratios 0.25 0.1 --seeds 0
# Its baselines are the same training as the study's: with that study's baselines trained,
#   ... --baseline-from work_dirs/compare/fashion_lite0 tests them here instead of training again.
_base_ = ['./fashion_lite0.py']
title = 'Fashion-MNIST, EfficientNet-Lite0 from ImageNet (top-1 on the 5,000 validation images)'
work_dir = 'work_dirs/compare/fashion_lite0_val'
options = _base_.options + ['test_dataloader.dataset.split=val']
