"""A measured latency model of one network on the machine at hand, bilinear in group widths.

Every counted layer call (conv, depthwise conv, linear) is timed alone, as a stock torch layer
with the call's geometry, on a grid of input/output channel counts, and fitted as

    t(c_in, c_out) = a · F(c_in, c_out) + b · c_in + c · c_out + d

with F the layer's multiply-adds (its handler's count: ``C_in·C_out·coef`` for a dense conv,
linear for a depthwise one), so the sum over layers is bilinear in the group widths like the
paper's Eq. 5 and plugs into the same proximal step. The network's time is modelled as

    s · Σ_layers t + k · Σ_p E_p · n_p + const

-- s because layers run at another speed inside the network than alone; the k term for
everything else (BatchNorm, activations, additions, pooling, resizing), E_p the output elements
per channel of the layers producing group p -- with s, k and the constant fitted to timings of
whole exports: the full network, its half-width export and random-width exports.

The fit is saved as JSON (``gdpseg.latency/1``) with the machine, backend and threads it was
measured with, and used as ``resource=dict(type='latency', table=PATH)``. Layers whose kind the
model does not time (grouped convolutions) are refused with a message, never guessed.
"""
import json
import math
import platform
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from gdpseg.core import BilinearResource, full_plan, prune, register_resource
from gdpseg.core.layers import LAYERS, handler_of
from gdpseg.core.plan import PruningPlan, export_widths, resolve

FORMAT = 'gdpseg.latency/1'
# Shares of a layer's channels it is timed at. Below the full width the counts are made odd:
# pruning leaves arbitrary widths, which run slower per multiply-add than aligned ones.
GRID = (0.2, 0.45, 0.7, 1.0)


# ----------------------------------------------------------------- timing
def time_call(fn: Callable[[], object], min_repeats: int = 5, min_seconds: float = 0.05,
              warmup: int = 2) -> float:
    """Shortest wall time of ``fn()`` in milliseconds, over at least ``min_repeats`` runs and
    ``min_seconds`` of runs after ``warmup`` untimed ones. The shortest run is the one least
    disturbed by other load on the machine: on a shared 2-core machine the median of the same
    network drifted by 12 % between two sessions."""
    for _ in range(warmup):
        fn()
    times: List[float] = []
    start = time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 1000:
            break
    return 1e3 * min(times)


class Timer:
    """Times a module on an input with PyTorch or ONNX Runtime (CPU), ``threads`` threads."""

    def __init__(self, backend: str = 'torch', threads: int = 2, min_repeats: int = 5,
                 min_seconds: float = 0.05):
        if backend not in ('torch', 'onnxruntime'):
            raise ValueError(f"backend must be 'torch' or 'onnxruntime', got {backend!r}")
        self.backend, self.threads = backend, int(threads)
        self.min_repeats, self.min_seconds = int(min_repeats), float(min_seconds)

    def prepare(self, module: nn.Module, x: torch.Tensor,
                forward_fn: Optional[Callable] = None) -> Callable[[], object]:
        """A function that runs ``module`` on ``x`` once (an ONNX Runtime session is built
        here, once)."""
        module = module.eval()
        if self.backend == 'torch':
            threads = self.threads

            def run():
                if torch.get_num_threads() != threads:
                    torch.set_num_threads(threads)
                with torch.no_grad():
                    return forward_fn(module, (x,)) if forward_fn else module(x)
            return run
        import os
        import tempfile

        from .onnx import export_onnx, onnx_session
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'm.onnx')
            export_onnx(module, x, path, forward_fn)
            session = onnx_session(path, self.threads)
        feed = {'input': x.numpy()}
        return lambda: session.run(None, feed)

    def __call__(self, module: nn.Module, x: torch.Tensor,
                 forward_fn: Optional[Callable] = None) -> float:
        previous = torch.get_num_threads()
        try:
            return time_call(self.prepare(module, x, forward_fn), self.min_repeats,
                             self.min_seconds)
        finally:
            torch.set_num_threads(previous)

    def compare(self, runs: Sequence[Callable[[], object]], rounds: int = 5) -> List[float]:
        """Shortest time (ms) of each prepared run, measured in turns over ``rounds`` rounds,
        so a machine whose speed drifts over minutes (shared CPUs) skews no ratio."""
        best = [math.inf] * len(runs)
        previous = torch.get_num_threads()
        try:
            for _ in range(rounds):
                for i, run in enumerate(runs):
                    best[i] = min(best[i], time_call(run, 2, self.min_seconds / rounds,
                                                     warmup=1))
        finally:
            torch.set_num_threads(previous)
        return best


# ----------------------------------------------------------------- layers
def signature(call) -> str:
    """What a layer's time depends on besides its channel counts (calls alike share a fit)."""
    return json.dumps([call.kind, list(call.in_shape), list(call.out_shape), list(call.kernel),
                       list(call.stride), list(call.padding), list(call.dilation), call.groups,
                       call.transposed])


def _width(share: float, full: int) -> int:
    n = max(1, round(share * full))
    return n - 1 if n < full and n > 1 and n % 2 == 0 else n


def fit_bilinear(points: Sequence[Tuple[float, float, float, float]]) -> List[float]:
    """Non-negative least squares ``t = a·F + b·c_in + c·c_out + d`` from ``(F, c_in, c_out,
    t)`` points.

    A layer does not get faster with more work, and its fixed cost is not negative: with
    ``a, b, c, d >= 0`` no width predicts a negative time, which an unconstrained fit does on
    noisy timings (measured on a loaded machine: a network predicted at −2.95 ms). Exact: the
    best unconstrained fit over every subset of the four terms whose coefficients are all
    non-negative (16 small solves).

    Returns:
        ``[a, b, c, d]`` (minimum norm where the terms are collinear, e.g. depthwise layers).
    """
    data = torch.tensor(points, dtype=torch.float64)
    design = torch.cat([data[:, :3], torch.ones(len(data), 1, dtype=torch.float64)], 1)
    # scale the columns so the solution does not depend on their units
    scale = design.abs().max(0).values.clamp_min(1e-12)
    design, target = design / scale, data[:, 3]
    best, best_err = [0.0] * 4, float(target.pow(2).sum())
    for mask in range(1, 16):
        cols = [j for j in range(4) if mask >> j & 1]
        sol = torch.linalg.lstsq(design[:, cols], target[:, None],
                                 driver='gelsd').solution[:, 0]
        if bool((sol < 0).any()):
            continue
        err = float((design[:, cols] @ sol - target).pow(2).sum())
        if err < best_err * (1 - 1e-12):
            full = [0.0] * 4
            for j, v in zip(cols, sol.tolist()):
                full[j] = v
            best, best_err = full, err
    return [v / float(k) for v, k in zip(best, scale)]


def measure_layers(groups, timer: Timer, grid: Sequence[float] = GRID,
                   progress: Optional[Callable[[int, int], None]] = None) -> Dict[str, dict]:
    """Time and fit every distinct counted layer of ``groups`` (see module doc)."""
    calls = groups.counted_calls()
    refused = sorted({c.module for c in calls if not handler_of(c.kind).timed})
    if refused:
        timed = sorted(k for k, h in LAYERS.items() if h.timed)
        raise ValueError(f'the latency model times {", ".join(timed)} layers; '
                         f'{len(refused)} layers are of another kind (e.g. {refused[0]}: '
                         f'{next(c.kind for c in calls if c.module == refused[0])}): '
                         "use resource='flops' for this model")
    unique: Dict[str, object] = {}
    for call in calls:
        unique.setdefault(signature(call), call)
    fits = {}
    for n, (key, call) in enumerate(unique.items()):
        handler = handler_of(call.kind)
        cin_full, cout_full = handler.channel_counts(call)
        points = []
        for fi in grid:
            for fo in (grid if not handler.tied_widths else (None,)):
                cin = _width(fi, cin_full)
                cout = cin if fo is None else _width(fo, cout_full)
                layer, x = handler.stock_layer(call, cin, cout)
                points.append((handler.flops(call, cin, cout), cin, cout, timer(layer, x)))
        a, b, c, d = fit_bilinear(points)
        worst = max(abs(a * f + b * i + c * o + d - t) / max(t, 1e-6) for f, i, o, t in points)
        fits[key] = dict(coef=[a, b, c, d], max_fit_error=worst, points=points)
        if progress:
            progress(n + 1, len(unique))
    return fits


# ----------------------------------------------------------------- the model
def _elements(groups) -> List[float]:
    """E_p: output elements per channel of the layers producing each group (per sample)."""
    elems = [0.0] * len(groups.groups)
    for call in groups.counted_calls():
        per_channel = handler_of(call.kind).positions(call)
        for s in call.out_segs:
            elems[groups.group_index(s)] += per_channel * s.expand / max(1, call.out_shape[0])
    return elems


class LatencyResource(BilinearResource):
    """Predicted latency (ms) of the network, bilinear in the group widths."""


def build_latency_model(groups, fits: Dict[str, dict], k_other: float,
                        const_other: float, scale: float = 1.0) -> LatencyResource:
    """Sum the fitted layer models (times ``scale``) and the other ops' term into one bilinear
    resource."""
    res = LatencyResource(len(groups.groups))
    sizes = [g.size for g in groups.groups]
    for call in groups.counted_calls():
        key = signature(call)
        if key not in fits:
            raise KeyError(f'the latency table has no entry for layer {call.module} '
                           f'({call.kind}, input {tuple(call.in_shape)}): it was measured for '
                           'another model or input size; measure again with '
                           'tools/analysis_tools/measure_latency.py')
        a, b, c, d = (scale * v for v in fits[key]['coef'])
        part = BilinearResource(len(groups.groups))
        ins = [(groups.group_index(s), s.expand) for s in call.in_segs]
        outs = [(groups.group_index(s), s.expand) for s in call.out_segs]
        handler_of(call.kind).add_flops(part, call, ins, outs, sizes)
        res.pair += a * part.pair
        res.diag += a * part.diag
        res.lin += a * part.lin
        res.const += a * part.const + d
        if handler_of(call.kind).tied_widths:  # c_in = c_out = the group's width
            for p, e in ins:
                res.lin[p] += (b + c) * e
        else:
            for p, e in ins:
                res.lin[p] += b * e
            for p, e in outs:
                res.lin[p] += c * e
    for p, e in enumerate(_elements(groups)):
        res.lin[p] += k_other * e
    res.const += const_other
    return res


def half_plan(groups) -> PruningPlan:
    """Every prunable group at half its width."""
    return PruningPlan([torch.arange(max(1, g.size // 2)) if g.prunable else torch.arange(g.size)
                        for g in groups.groups])


def random_plan(groups, generator: torch.Generator, low: float = 0.2) -> PruningPlan:
    """Each prunable group keeps a random share in ``[low, 1]`` of its channels (random ones)."""
    keep = []
    for g in groups.groups:
        if not g.prunable:
            keep.append(torch.arange(g.size))
            continue
        share = low + (1 - low) * float(torch.rand(1, generator=generator))
        n = max(1, int(g.size * share))
        keep.append(torch.sort(torch.randperm(g.size, generator=generator)[:n]).values)
    return PruningPlan(keep)


def _calibrate(rows):
    """Fit ``T = s·L + k·S + c`` (s > 0, k >= 0) to whole-network timings; drop k, then s,
    when the data give them the wrong sign (timing noise)."""
    data = torch.tensor(rows, dtype=torch.float64)  # columns L, S, T
    ones = torch.ones(len(data), 1, dtype=torch.float64)
    for cols in ((0, 1), (0,), ()):
        design = torch.cat([data[:, list(cols)], ones], 1)
        scale = design.abs().max(0).values.clamp_min(1e-12)
        sol = torch.linalg.lstsq(design / scale, data[:, 2:], driver='gelsd').solution[:, 0]
        sol = (sol / scale).tolist()
        if all(v > 0 for v in sol[:-1]) or not cols:
            s_ = sol[0] if 0 in cols else 1.0
            k = sol[1] if 1 in cols else 0.0
            return s_, k, sol[-1] - (0.0 if cols else float(data[:, 0].mean()))
    raise AssertionError('unreachable')


def measure_latency_table(model: nn.Module, groups, example: torch.Tensor, timer: Timer,
                          forward_fn: Optional[Callable] = None, grid: Sequence[float] = GRID,
                          calibration: int = 4, seed: int = 0,
                          progress: Optional[Callable[[int, int], None]] = None) -> dict:
    """Measure and fit the latency model of ``model`` (traced as ``groups``) on this machine.

    The layer fits are combined as ``s · Σ layers + k · Σ_p E_p n_p + c``: ``s`` (isolated
    layers run at another speed than inside the network), ``k`` (the other ops) and ``c`` are
    fitted to the timings of whole exports -- the full network, its uniform half-width export
    and ``calibration`` random exports (each group keeping 20-100 %).

    Returns:
        The table (JSON-ready): per-layer fits, the calibration and its timings.
    """
    fits = measure_layers(groups, timer, grid, progress)
    layers_only = build_latency_model(groups, fits, 0.0, 0.0)
    elements = _elements(groups)
    gen = torch.Generator().manual_seed(seed)
    plans = [full_plan(groups), half_plan(groups)] + \
        [random_plan(groups, gen) for _ in range(calibration)]
    rows, timings = [], []
    for plan in plans:
        plan = resolve(groups, plan)
        measured = timer(prune(model, groups, plan), example, forward_fn)
        widths = export_widths(groups, plan)
        rows.append((layers_only.plan_value(groups, plan),
                     sum(e * w for e, w in zip(elements, widths)), measured))
        timings.append(measured)
    scale, k, const = _calibrate(rows)
    return dict(format=FORMAT, backend=timer.backend, threads=timer.threads,
                machine=platform.processor() or platform.machine(),
                torch=torch.__version__, input_shape=list(example.shape),
                layers={key: dict(coef=v['coef'], max_fit_error=v['max_fit_error'])
                        for key, v in fits.items()},
                other=dict(scale=scale, k=k, const=const),
                networks=dict(full_ms=timings[0], half_ms=timings[1],
                              calibration_ms=timings[2:]))


def load_table(path: str) -> dict:
    with open(path) as f:
        table = json.load(f)
    if table.get('format') != FORMAT:
        raise ValueError(f'{path} is not a gdpseg latency table (format '
                         f'{table.get("format")!r}, expected {FORMAT!r})')
    return table


@register_resource('latency')
def latency_resource(groups, table) -> LatencyResource:
    """The measured latency model: ``resource=dict(type='latency', table=PATH_OR_DICT)``."""
    data = load_table(table) if isinstance(table, str) else table
    other = data['other']
    return build_latency_model(groups, data['layers'], other['k'], other['const'],
                               other.get('scale', 1.0))
