# The width search with the input resolution in the space: the slimmable ResNet-20 of
# resnet20_fmnist_slimmable.py sampled at 16-28² too; its test pipeline resizes (a no-op at
# 28²) so that the export is tested at the found resolution R with
# "test_dataloader.dataset.pipeline.0.scale=(R,R)" (tools/compare.py's search_res row does).
_base_ = ['./resnet20_fmnist_slimmable.py']
model = dict(resolutions=[16, 20, 24, 28])
test_dataloader = dict(dataset=dict(pipeline=[dict(type='Resize', scale=(28, 28)),
                                              *_base_.test_pipeline]))
