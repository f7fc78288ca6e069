"""segmentation-models-pytorch networks as config components (no code needed)."""
from gdpseg.registry import MODELS


@MODELS.register_module()
def SMPModel(arch: str, encoder_name: str = 'resnet34', classes: int = 21,  # noqa: N802
             encoder_weights=None, **kwargs):
    """``segmentation_models_pytorch.create_model`` from a config, e.g. as the network of
    :class:`PlainSegmentor`::

        network=dict(type='SMPModel', arch='DeepLabV3Plus', encoder_name='resnet34', classes=21)

    ``encoder_weights`` defaults to None (random initialisation): smp would download ImageNet
    weights otherwise. Give a local file of encoder weights through ``load_from`` or
    ``init_cfg`` instead.
    """
    import segmentation_models_pytorch as smp

    if encoder_weights is not None:
        raise ValueError(f'encoder_weights={encoder_weights!r} would download weights; '
                         'keep encoder_weights=None and load local weights with load_from')
    return smp.create_model(arch, encoder_name=encoder_name, encoder_weights=None,
                            classes=classes, **kwargs)
