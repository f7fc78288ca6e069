"""One-shot pruning baselines as MMEngine models: a task model and a scoring rule.

``tools/prune.py CONFIG BASELINE_CHECKPOINT --out DIR`` scores the baseline's channels, chooses
the plan at the config's FLOPs ratio and exports it through the same path as GDP; the export is
then fine-tuned like any other (``PrunedModel``)."""

from gdpseg.core import build_resource
from gdpseg.methods.importance import SCORES, plan_at_ratio
from gdpseg.models.algorithms.base import PruningAlgorithm
from gdpseg.registry import MODELS


@MODELS.register_module()
class OneShotPruning(PruningAlgorithm):
    """Prune a trained model once by channel scores.

    Args:
        architecture: The task model (config or module).
        **options: What every method shares (``input_shape``, ``forward_mode``, ``exclude``,
            ``min_channels``, ``channel_multiple``, ``strict``): see :class:`PruningAlgorithm`.
        ratio: Share of the network's FLOPs the export keeps (at most).
        score: ``'l1'`` (filter L1 norms, PFEC), ``'bn'`` (``|γ|`` of the BatchNorms, Network
            Slimming) or ``'random'``.
        scope: ``'uniform'`` (the same share of every group) or ``'global'`` (one threshold;
            L1 scores are divided by their group's largest, so that layers of different fan-in
            compare).
        seed: Seed of the random scores.
        fill: With the uniform scope, fill the budget the share's rounding leaves, channel by
            channel in the groups with the smallest share (see :func:`plan_at_ratio`);
            ``False`` is the rounded uniform share alone (the digits studies' recorded rows).
        resource: What ``ratio`` is a share of: ``'flops'`` (the export's FLOPs) or another
            registered resource, e.g. ``dict(type='latency', table=PATH)`` for a uniform
            width chosen by the measured latency of this machine
            (``tools/analysis_tools/measure_latency.py`` writes the table).
    """

    def __init__(self, architecture, ratio: float, score: str = 'l1', scope: str = 'uniform',
                 seed: int = 0, fill: bool = True, resource='flops', **options):
        if score not in SCORES:
            raise ValueError(f'score must be one of {sorted(SCORES)}, got {score!r}')
        super().__init__(architecture, **options)
        self.ratio, self.score, self.scope, self.seed = float(ratio), score, scope, int(seed)
        self.fill, self.resource = bool(fill), resource

    def scores(self):
        groups = self.channel_groups
        if self.score == 'random':
            return SCORES['random'](groups, self.seed)
        scores = SCORES[self.score](groups)
        if self.score == 'l1' and self.scope == 'global':
            scores = [s / s.max() if s.numel() and s.max() > 0 else s for s in scores]
        return scores

    def plan(self):
        """The plan at ``ratio`` from the current weights' scores."""
        groups = self.channel_groups
        resource = None if self.resource == 'flops' else build_resource(self.resource, groups)
        return plan_at_ratio(groups, self.scores(), self.ratio, self.scope, fill=self.fill,
                             resource=resource)
