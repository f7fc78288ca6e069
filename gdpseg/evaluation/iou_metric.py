"""mmseg's IoUMetric, plus a count of ground-truth labels it cannot score."""
from mmengine.logging import MMLogger
from mmseg.evaluation.metrics import IoUMetric as MMSegIoUMetric

from gdpseg.registry import METRICS


@METRICS.register_module()
class IoUMetric(MMSegIoUMetric):
    """mmseg's ``IoUMetric`` that also counts ground-truth pixels whose label is neither a class
    (``0 .. num_classes-1``) nor the ignore index. mmseg drops them without a word (training
    fails on them); this metric scores the same and warns once, with the count, when there are
    any: usually masks saved with another palette or class list."""

    def process(self, data_batch, data_samples) -> None:
        start = len(self.results)
        super().process(data_batch, data_samples)
        if self.format_only:
            return
        num_classes = len(self.dataset_meta['classes'])
        for i, sample in enumerate(data_samples):
            label = sample['gt_sem_seg']['data']
            bad = int(((label >= num_classes) & (label != self.ignore_index)).sum())
            # travels with the sample's result, so distributed evaluation collects it too
            self.results[start + i] = (*self.results[start + i], bad)

    def compute_metrics(self, results: list) -> dict:
        bad = sum(r[4] for r in results if len(r) > 4)
        if bad:
            num_classes = len(self.dataset_meta['classes'])
            MMLogger.get_current_instance().warning(
                f'{bad:,} ground-truth pixels have labels outside 0..{num_classes - 1} and are '
                f'not the ignore index {self.ignore_index}: they are not scored. Check that the '
                'masks use this dataset\'s class indices.')
        metrics = super().compute_metrics([r[:4] for r in results])
        metrics['unscored_pixels'] = bad
        return metrics
