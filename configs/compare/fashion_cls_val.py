# The validation twin of fashion_cls.py: the same stages, every metric measured on the 5,000
# held-out training images (split 'val') instead of the test set. Settings (GDP's gate learning
# rate, the balance rule) are chosen here; fashion_cls.py reports the test set.
#   python tools/compare.py configs/compare/fashion_cls_val.py --only gdp gdp_glr10 gdp_glr l1 \
#       random --ratios 0.25 --seeds 0
# Its baselines are the same training as the study's: with that study's baselines trained,
#   ... --baseline-from work_dirs/compare/fashion_cls tests them here instead of training again.
_base_ = ['./fashion_cls.py']
title = 'Fashion-MNIST, ResNet-20 from scratch (top-1 on the 5,000 validation images)'
work_dir = 'work_dirs/compare/fashion_cls_val'
options = _base_.options + ['test_dataloader.dataset.split=val']
# GDP with a 10x gate lr goes right after the 100x row; methods are found by name, so the base
# study's order may change
_names = [m['name'] for m in _base_.methods]
_at = _names.index('gdp_glr') + 1
_glr = _base_.methods[_at - 1]
methods = _base_.methods[:_at] + [
    dict(name='gdp_glr10', label='GDP, gate lr ×10',
         stages=[dict(_glr['stages'][0], options=[
             o.replace('gate_lr_mult=100', 'gate_lr_mult=10')
             for o in _glr['stages'][0]['options']])] + _glr['stages'][1:]),
] + _base_.methods[_at:]
