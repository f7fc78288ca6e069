"""Content and style loss of a style-transfer network on held-out images."""
from mmengine.evaluator import BaseMetric

from gdpseg.registry import METRICS


@METRICS.register_module()
class StyleLossMetric(BaseMetric):
    """Mean content loss (MSE of relu2_2 features) and style loss (Σ MSE of Gram matrices) of
    the outputs of ``StyleTransferModel`` in ``predict`` mode, weighted as in training
    (``content_weight``, ``style_weight``: the numbers pytorch/examples prints), and their
    sum."""

    default_prefix = 'style'

    def __init__(self, content_weight: float = 1e5, style_weight: float = 1e10, **kwargs):
        super().__init__(**kwargs)
        self.content_weight, self.style_weight = content_weight, style_weight

    def process(self, data_batch, data_samples):
        self.results.extend((s['content_loss'], s['style_loss']) for s in data_samples)

    def compute_metrics(self, results):
        n = max(1, len(results))
        content = sum(c for c, _ in results) / n
        style = sum(s for _, s in results) / n
        content, style = self.content_weight * content, self.style_weight * style
        return dict(content_loss=content, style_loss=style, total_loss=content + style)
