# BWCP with its batch whitening: as digits_resnet20_cifar_bwcp.py, and the BatchNorm of every
# prunable group whitens its channels in groups of 16 (IterNorm's Newton iterations, 5), so
# that the per-channel Gaussian model of P holds for the channels together. tools/prune.py
# folds the whitening into the convolution before each norm, then exports as usual.
#   python tools/train.py configs/demo/digits_resnet20_cifar_bwcp_bw.py
#   python tools/prune.py configs/demo/digits_resnet20_cifar_bwcp_bw.py \
#       work_dirs/digits_resnet20_cifar_bwcp_bw/iter_300.pth --out work_dirs/digits_bwcp_bw_export
_base_ = ['./digits_resnet20_cifar_bwcp.py']
model = dict(whiten=['*'], whiten_group=16, whiten_iters=5)
