# GDP's "gates of conv kernels" ablation (paper Eq. 10) on the segmentation demo: no α; each
# channel's gate is g_ε of the norm of its filters (relative to the baseline's), and the
# proximal step shrinks the filters themselves. Otherwise as digits_deeplabv3plus_gdp_target.py.
_base_ = ['./digits_deeplabv3plus_gdp_target.py']
model = dict(type='KernelGDP')
