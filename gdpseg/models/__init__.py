"""Task networks in plain PyTorch, the pruned model, and the base of every pruning method
(:class:`PruningAlgorithm`; the methods are :mod:`gdpseg.methods`), in gdpseg's MODELS."""
from .algorithms import PruningAlgorithm, SoftMaskAlgorithm
from .backbones import CifarResNetBackbone, CifarVGG
from .cifar_resnet import CifarResNet
from .deeplabv3plus import DeepLabV3Plus
from .pruned_model import ExportedNetwork, PrunedModel
from .segmentors import PlainSegmentor
from .smp_model import SMPModel
from .style_transfer import StyleTransferModel
from .transformer_net import TransformerNet

__all__ = ['CifarResNet', 'CifarResNetBackbone', 'CifarVGG', 'DeepLabV3Plus', 'ExportedNetwork',
           'PlainSegmentor', 'PrunedModel', 'PruningAlgorithm', 'SMPModel', 'SoftMaskAlgorithm',
           'StyleTransferModel', 'TransformerNet']
