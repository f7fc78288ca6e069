"""Re-estimate BN statistics before fine-tuning an export."""
import copy

from mmengine.hooks import Hook

from gdpseg.engine.bn_recalibration import mmengine_batches, recalibrate_bn, tensor_forward
from gdpseg.engine.utils import unwrap_model
from gdpseg.registry import HOOKS


@HOOKS.register_module()
class BNRecalibrationHook(Hook):
    """Before fine-tuning an export, re-estimate its BN statistics on ``num_batches`` training
    batches (see :func:`recalibrate_bn`)."""

    priority = 'VERY_HIGH'

    def __init__(self, num_batches: int = 50):
        if num_batches < 1:
            raise ValueError(f'num_batches must be >= 1, got {num_batches}')
        self.num_batches = int(num_batches)

    def before_train(self, runner):
        model = unwrap_model(runner.model)
        # a dataloader of its own: iterating the training loop's one would consume (and, with
        # MMEngine's InfiniteSampler, close) the loop's index stream
        loader = runner.build_dataloader(copy.deepcopy(runner.cfg.train_dataloader),
                                         seed=runner.seed)
        used = recalibrate_bn(model, mmengine_batches(model, loader, self.num_batches),
                              tensor_forward)
        runner.logger.info(f'BN statistics re-estimated on {used} training batches')
