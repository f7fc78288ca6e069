# BWCP with its batch whitening on the Fashion-MNIST ResNet-20: resnet20_fmnist_bwcp.py with
# the BatchNorm of every prunable group whitened in groups of 16 channels (IterNorm's Newton
# iterations, 5); tools/prune.py folds the whitening into the convolutions before the export.
_base_ = ['./resnet20_fmnist_bwcp.py']
model = dict(whiten=['*'], whiten_group=16, whiten_iters=5)
