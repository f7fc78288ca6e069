"""--resume of an MMEngine Runner under torch's weights_only checkpoint loading."""
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

from gdpseg.engine.checkpoint import allow_mmengine_checkpoints


class ToyRegressor(BaseModel):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.net(inputs)
        if mode == 'loss':
            return {'loss': ((out - targets) ** 2).mean()}
        return out


class ToyData(torch.utils.data.Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(32, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {'inputs': self.x[i], 'targets': self.y[i]}


def _runner(work_dir, max_iters, resume=False):
    torch.manual_seed(0)  # same initial weights for the straight and the interrupted run
    return Runner(
        model=ToyRegressor(), work_dir=str(work_dir), experiment_name=f'exp{max_iters}{resume}',
        train_dataloader=dict(dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=4, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0), resume=resume, default_scope='mmengine')


def _pickled_with_getattr(tmp_path):
    path = tmp_path / 'unsafe.pth'
    torch.save({'f': getattr(HistoryBufferProbe, 'probe')}, path)
    return path


class HistoryBufferProbe:
    @staticmethod
    def probe():
        return 0


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_checkpoint_needs_allowlist_then_resume_continues_exactly(tmp_path):
    allow_mmengine_checkpoints()
    straight = _runner(tmp_path / 'straight', 6)
    straight.train()
    expected = _weights(straight.model)

    first = _runner(tmp_path / 'resumed', 3)
    first.train()
    ckpt = tmp_path / 'resumed' / 'iter_3.pth'
    assert ckpt.exists()
    # Safety stays on: only the listed types are allowed, not arbitrary globals.
    from mmengine.logging.history_buffer import HistoryBuffer
    with torch.serialization.safe_globals([]):
        assert HistoryBuffer in torch.serialization.get_safe_globals()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(_pickled_with_getattr(tmp_path), weights_only=True)
    state = torch.load(ckpt, weights_only=True)
    assert state['meta']['iter'] == 3

    second = _runner(tmp_path / 'resumed', 6, resume=True)
    second.train()
    assert second.iter == 6
    got = _weights(second.model)
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=0, atol=0, msg=key)
