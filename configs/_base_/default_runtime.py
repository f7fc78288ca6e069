# Runtime shared by gdpseg configs (OpenMMLab conventions, scope gdpseg).
default_scope = 'gdpseg'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='mmseg.SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # ignore_last=False: a run shorter than the interval still logs its last iteration
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    rng_state=dict(type='RNGStateHook'),  # dropout continues exactly on --resume
    finite_check=dict(type='FiniteCheckHook'),  # stop at NaN/inf before saving it
    label_check=dict(type='LabelCheckHook'),  # a label outside the classes: name the file
    visualization=dict(type='mmseg.SegVisualizationHook'))
