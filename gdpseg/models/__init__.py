"""Task networks in plain PyTorch and the MMEngine models around them, in gdpseg's MODELS."""
from .algorithms import (BWCP, ContinuousSparsification, GDPAlgorithm, KernelGDP, NaiveSL0,
                         NetworkSlimming, OneShotPruning, PruningAlgorithm, SoftFilterPruning)
from .backbones import CifarResNetBackbone, CifarVGG
from .cifar_resnet import CifarResNet
from .deeplabv3plus import DeepLabV3Plus
from .pruned_model import ExportedNetwork, PrunedModel
from .segmentors import PlainSegmentor
from .smp_model import SMPModel
from .style_transfer import StyleTransferModel
from .transformer_net import TransformerNet

__all__ = ['BWCP', 'CifarResNet', 'CifarResNetBackbone', 'CifarVGG', 'ContinuousSparsification',
           'DeepLabV3Plus', 'ExportedNetwork', 'GDPAlgorithm', 'KernelGDP', 'NaiveSL0',
           'NetworkSlimming', 'OneShotPruning', 'PlainSegmentor', 'PrunedModel',
           'PruningAlgorithm', 'SMPModel', 'SoftFilterPruning', 'StyleTransferModel',
           'TransformerNet']
