"""Find dataset configs inside dataloader configs."""


def datasets_of_type(cfg, type_name):
    """Dataset configs of type ``type_name`` (any scope prefix) in a nested dataloader/dataset
    config (ConcatDataset, RepeatDataset, ... included)."""
    if isinstance(cfg, dict):
        if str(cfg.get('type', '')).split('.')[-1] == type_name:
            yield cfg
        for value in cfg.values():
            yield from datasets_of_type(value, type_name)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            yield from datasets_of_type(value, type_name)
