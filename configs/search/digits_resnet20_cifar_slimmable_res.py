# The width search with the input resolution in the space: the slimmable ResNet-20 of
# digits_resnet20_cifar_slimmable.py sampled at 20-32² too; its test pipeline resizes (a no-op
# at 32²) so that the export is tested at the found resolution R with
# "test_dataloader.dataset.pipeline.0.scale=(R,R)" (tools/compare.py's search_res row does).
_base_ = ['./digits_resnet20_cifar_slimmable.py']
model = dict(resolutions=[20, 24, 28, 32])
test_dataloader = dict(dataset=dict(pipeline=[dict(type='Resize', scale=(32, 32)),
                                              dict(type='PackInputs')]))
