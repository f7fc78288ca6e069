"""Distributed runs on machines without GPUs."""


def setup_cpu_distributed(cfg):
    """Let ``launcher=pytorch`` work without GPUs: gloo, and a DDP wrapper without device ids.

    MMEngine's pytorch launcher calls ``torch.cuda.set_device`` and hands DDP the local rank as
    device id; both fail on CPU. With a GPU, nothing changes.
    """
    import torch
    import torch.distributed as dist

    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if cfg.launcher == 'pytorch' and not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                     broadcast_buffers=False)
