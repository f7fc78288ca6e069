"""ONNX export of pruned networks, checked with ONNX Runtime against the gated model."""
import numpy as np
import pytest
import torch

from gdpseg.core import prune
from gdpseg.deploy import FlatOutputs, check_onnx, export_onnx
from gdpseg.deploy.onnx import onnx_session
from gdpseg.methods.gdp import attach_gates
from gdpseg.models import CifarResNet, DeepLabV3Plus


@pytest.mark.parametrize('make, size', [
    (lambda: CifarResNet(20, num_classes=10), 32),
    (lambda: DeepLabV3Plus(num_classes=5, depth=18, output_stride=32, aspp_channels=32,
                           low_level_proj=8), 64),
])
@pytest.mark.slow
def test_pruned_network_runs_in_onnx_runtime_like_the_gated_one(tmp_path, make, size):
    torch.manual_seed(0)
    net = make().eval()
    x = torch.randn(1, 3, size, size)
    gates = attach_gates(net, (x,))
    with torch.no_grad():
        for a, g in zip(gates.alphas, gates.groups):
            if g.prunable:
                a.uniform_(0.2, 1.0)
                a[torch.rand(a.shape) < 0.4] = 0
    pruned = prune(net, gates).eval()
    path = str(tmp_path / 'pruned.onnx')
    export_onnx(pruned, x, path)
    batch3 = torch.randn(3, 3, size, size)  # the batch axis is dynamic
    diff = check_onnx(path, FlatOutputs(net).eval(), [x, batch3])  # gated reference
    assert diff <= 1e-4
    # and the file holds the pruned network, not the full one
    out = onnx_session(path).run(None, {'input': batch3.numpy()})[0]
    with torch.no_grad():
        ungated = (gates.detach(), net(batch3))[1]
    assert not np.allclose(out, ungated.numpy(), atol=1e-3)


def test_onnx_check_catches_a_wrong_file(tmp_path):
    a, b = torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(1, 3, 8, 8)
    export_onnx(a, x, str(tmp_path / 'a.onnx'))
    assert check_onnx(str(tmp_path / 'a.onnx'), FlatOutputs(b), [x]) > 1e-2
    with pytest.raises(RuntimeError, match='differ from PyTorch'):
        check_onnx(str(tmp_path / 'a.onnx'), lambda x: (b(x), b(x)), [x])
