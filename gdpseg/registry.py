"""gdpseg's registries: children of MMEngine's root registries, in scope ``gdpseg``.

A config with ``default_scope = 'gdpseg'`` builds gdpseg's modules by bare name and everything of
MMEngine by bare name too (a child falls back to its parent). Modules of other OpenMMLab scopes are
reached with a prefix (``type='mmseg.EncoderDecoder'``) or a ``_scope_`` key in their config.
Each registry imports its gdpseg module on first use, so nothing registers at import time.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

# Runner plumbing.
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope='gdpseg')
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope='gdpseg')
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='gdpseg',
                 locations=['gdpseg.engine', 'gdpseg.methods'])
LOG_PROCESSORS = Registry('log_processor', parent=MMENGINE_LOG_PROCESSORS, scope='gdpseg')

# Data.
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='gdpseg',
                    locations=['gdpseg.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='gdpseg')
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='gdpseg',
                      locations=['gdpseg.datasets'])

# Models: task networks, the GDP algorithm wrapper, weight initialisers.
MODELS = Registry('model', parent=MMENGINE_MODELS, scope='gdpseg',
                  locations=['gdpseg.models', 'gdpseg.methods'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='gdpseg',
                          locations=['gdpseg.models'])
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS,
                               scope='gdpseg', locations=['gdpseg.models'])

# Optimisation: optimizers, wrappers and their constructors (the gate parameter group). The
# proximal gate step itself runs in GDP's step (gdpseg.methods.gdp), after each optimizer step.
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, scope='gdpseg',
                      locations=['gdpseg.engine'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='gdpseg',
                          locations=['gdpseg.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor',
                                      parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='gdpseg',
                                      locations=['gdpseg.engine', 'gdpseg.methods'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS,
                            scope='gdpseg', locations=['gdpseg.engine'])

# Evaluation and visualisation.
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='gdpseg',
                   locations=['gdpseg.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope='gdpseg',
                     locations=['gdpseg.evaluation'])
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, scope='gdpseg',
                      locations=['gdpseg.visualization'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS, scope='gdpseg',
                      locations=['gdpseg.visualization'])

# GDP's λ controllers (built by GDPHook) and the task adapters of the tools.
GDP_LAMBDAS = Registry('gdp lambda', scope='gdpseg', locations=['gdpseg.methods.gdp'])
TASKS = Registry('task adapter', scope='gdpseg', locations=['gdpseg.engine.tasks'])
