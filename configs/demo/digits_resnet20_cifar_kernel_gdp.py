# GDP's "gates of conv kernels" ablation (paper Eq. 10) on the ResNet-20 baseline: no α; each
# channel's gate is g_ε of the norm of its filters (relative to the baseline's), and the
# proximal step shrinks the filters themselves, with the weights' learning rate. Otherwise as
# digits_resnet20_cifar_gdp.py.
_base_ = ['./digits_resnet20_cifar_gdp.py']
model = dict(type='KernelGDP')
