"""Test-only parts of a task gdpseg has no adapter for (imported via custom_imports): a digits
classifier as an MMEngine model, its dataset and metric."""
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from gdpseg.models import CifarResNet
from gdpseg.registry import DATASETS, METRICS, MODELS


@DATASETS.register_module()
class DigitsClsDataset(Dataset):
    """scikit-learn's 8x8 digits, upsampled to ``size`` x ``size`` RGB tensors."""

    def __init__(self, split='train', num=64, size=32):
        from sklearn.datasets import load_digits

        digits = load_digits()
        start = 0 if split == 'train' else 1000
        images = torch.tensor(digits.images[start:start + num], dtype=torch.float32) / 16
        self.images = F.interpolate(images[:, None], size=size).repeat(1, 3, 1, 1)
        self.labels = torch.tensor(digits.target[start:start + num])
        self.metainfo = dict(classes=tuple(str(i) for i in range(10)))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return dict(inputs=self.images[i], label=self.labels[i])


@MODELS.register_module()
class DigitsClassifier(BaseModel):
    def __init__(self, depth=20, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.net = CifarResNet(depth, num_classes=10)

    def forward(self, inputs, label=None, mode='tensor'):
        logits = self.net(inputs)
        if mode == 'loss':
            return {'loss': F.cross_entropy(logits, label)}
        if mode == 'predict':
            return list(zip(logits.argmax(1), label))
        return logits


@METRICS.register_module()
class DigitsAccuracy(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend((int(p), int(t)) for p, t in data_samples)

    def compute_metrics(self, results):
        return {'accuracy': 100.0 * sum(p == t for p, t in results) / len(results)}
