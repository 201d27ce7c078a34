"""onnxruntime in one place: which package is installed, provider choice, session options,
and the GPU path (TF32 off, IO binding, CUDA graphs, fp16).

onnxruntime and onnxruntime-gpu install into the same ``onnxruntime/`` folder, so having both
(or neither) is an install problem we name with the pip command that fixes it.

On CUDA a coordinate generator's session is a ``BoundSession``: fixed-shape calls through IO
binding, one CUDA graph per shape, TF32 off. ``convert_fp16`` makes the fp16 model (first layer
and output kept in fp32); ``resolve_backend`` says whether onnxruntime or torch
(``train.torch_render``) renders.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import sys
from typing import Any

import numpy as np

from ..configs.choices import BACKENDS as BACKENDS
from ..configs.choices import PRECISIONS as PRECISIONS
from ..configs.devices import check_device
from ..errors import ParamError, UserError


def _installed(dist: str) -> bool:
    """Whether a distribution's ``*.dist-info`` folder is on ``sys.path``: the question
    ``importlib.metadata.version`` answers, without its import (12 ms of a 0.3 s tiny render)."""
    prefix = dist.replace("-", "_").lower() + "-"
    return any(n.startswith(prefix) and n[len(prefix) : len(prefix) + 1].isdigit() for n in _dist_info_names())


@functools.cache
def _dist_info_names() -> tuple[str, ...]:
    """The ``*.dist-info`` folder names on ``sys.path``, lower-case: listed once, with plain strings
    (pathlib's objects made this 7 ms of a tiny render)."""
    names: list[str] = []
    for entry in sys.path:
        try:
            names += [n.lower() for n in os.listdir(entry or ".") if n.endswith(".dist-info")]
        except OSError:  # not a folder (a zip), or unreadable
            continue
    return tuple(names)


def import_onnxruntime() -> Any:
    """onnxruntime, or one line saying which pip command fixes a missing or doubled install."""
    cpu, gpu = _installed("onnxruntime"), _installed("onnxruntime-gpu")
    if cpu and gpu:
        raise UserError(
            "both onnxruntime and onnxruntime-gpu are installed and overwrite each other; keep one: "
            'pip uninstall -y onnxruntime onnxruntime-gpu, then from the cppnart folder pip install -e ".[cpu]" '
            '(or ".[gpu]")'
        )
    try:
        import onnxruntime
    except ImportError:
        raise UserError(
            'no onnxruntime is installed; from the cppnart folder: pip install -e ".[cpu]" (or ".[gpu]" with CUDA)'
        ) from None
    return onnxruntime


def cpu_threads() -> int:
    """The cores this process may use (its CPU affinity on Linux), onnxruntime's default thread count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def providers_for(device: str, available: list[str]) -> list[str]:
    """onnxruntime's execution providers for ``device`` given the ``available`` ones; cuda without CUDA is refused."""
    device = check_device(device)
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise ParamError(
            "device",
            "{param} cuda needs onnxruntime-gpu: pip uninstall -y onnxruntime, then "
            "pip install -e '.[gpu]' from the cppnart folder (or render with torch on CUDA: {backend} torch)",
            also=("backend",),
        )
    return ["CPUExecutionProvider"]


def create_session(
    model: bytes | str, device: str = "auto", threads: int | None = None, precision: str = "fp32"
) -> Any:
    """An InferenceSession on the chosen device; CUDA falls back to CPU under ``auto`` only.

    On CUDA a coordinate generator gets a ``BoundSession`` (IO binding, CUDA graphs, TF32 off);
    ``precision`` fp16 renders ``convert_fp16``'s copy of the model.
    """
    ort = import_onnxruntime()
    if check_precision(precision) == "fp16":
        model = convert_fp16(model if isinstance(model, bytes) else open(model, "rb").read())
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or cpu_threads()
    options.inter_op_num_threads = 1
    # Idle onnxruntime threads sleep instead of spinning: the PNG encoder's threads share these cores
    # (and on a busy machine other processes do); spinning made a 2880x1800 render to an array 1.8x
    # slower on a loaded 2-core machine and starved the encoder (bench/render.py).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # onnxruntime-gpu logs an error when CUDA libraries are missing; we check what actually ran.
    options.log_severity_level = 3
    providers: list[Any] = providers_for(device, ort.get_available_providers())
    cuda = providers[0] == "CUDAExecutionProvider"
    graphs = cuda and coordinate_model(model)
    if cuda:
        preload_cuda_libraries(ort)
    session = None
    for cuda_graph in (True, False) if graphs else (False,):
        if cuda:
            providers = [("CUDAExecutionProvider", cuda_provider_options(cuda_graph)), "CPUExecutionProvider"]
        try:
            session = ort.InferenceSession(model, sess_options=options, providers=providers)
            graphs = cuda_graph
            break
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            if cuda_graph:
                continue  # a node the CUDA provider does not take rules out graphs: try without
            label = model if isinstance(model, str) else "model"
            raise UserError(f"onnxruntime cannot load {label}: {str(exc).splitlines()[0]}") from None
    assert session is not None
    ran_cuda = "CUDAExecutionProvider" in session.get_providers()
    if device == "cuda" and not ran_cuda:
        raise ParamError(
            "device",
            "{param} cuda was asked for but CUDA could not start (drivers or CUDA libraries missing); "
            "use {param} cpu, or install the CUDA 12/13 runtime: pip install 'onnxruntime-gpu[cuda,cudnn]'",
        )
    if ran_cuda and coordinate_model(model):
        bound = BoundSession(session, "cuda", GPU_POINTS, cuda_graph=graphs)
        if graphs:
            try:  # capture the poster's shape now: a graph that cannot be captured fails here, not mid-render
                bound.warm_up()
            except Exception:
                return create_session_without_graphs(model, options, ort)
        return bound
    return session


def create_session_without_graphs(model: bytes | str, options: Any, ort: Any) -> BoundSession:
    """A CUDA BoundSession with plain launches, for a model whose CUDA graph could not be captured."""
    providers = [("CUDAExecutionProvider", cuda_provider_options(False)), "CPUExecutionProvider"]
    session = ort.InferenceSession(model, sess_options=options, providers=providers)
    return BoundSession(session, "cuda", GPU_POINTS, cuda_graph=False)


# --- devices, precision, backends -------------------------------------------------------------

# Coordinates per CUDA call, whatever ``chunk`` asks: a GPU wants few large calls (launch-bound
# otherwise), and one fixed shape per band means one CUDA graph for a whole poster. 2^18 is a band
# (canvas.BAND_COORDS), so each band is one call and one copy back to the host.
GPU_POINTS = 1 << 18


def check_precision(precision: str, bits: int = 8) -> str:
    """The precision name, or a ParamError: unknown, or fp16 for a 16-bit PNG (fp16 has 11 bits).

    >>> check_precision("fp16")
    'fp16'
    """
    precision = getattr(precision, "value", precision)
    if precision not in PRECISIONS:
        raise ParamError("precision", f"'{precision}' is unknown; choose one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and bits == 16:
        raise ParamError("precision", "fp16 cannot fill a 16-bit PNG (bits 16: fp16 keeps 11 bits); use fp32")
    return precision


def check_backend(backend: str) -> str:
    """The backend name, or a ParamError listing the choices."""
    backend = getattr(backend, "value", backend)
    if backend not in BACKENDS:
        raise ParamError("backend", f"'{backend}' is unknown; choose one of {', '.join(BACKENDS)}")
    return backend


def nvidia_driver_present() -> bool:
    """An NVIDIA kernel driver is loaded (Linux): the cheap test that decides whether importing
    torch to look for CUDA is worth its second or two."""
    return os.path.exists("/proc/driver/nvidia/version")


def resolve_backend(backend: str, device: str) -> str:
    """``onnxruntime`` or ``torch`` for a render on ``device``, without importing either.

    ``auto`` takes onnxruntime unless a GPU is wanted that only torch can drive: ``device`` is
    cuda (or auto on a machine with an NVIDIA driver), onnxruntime has no CUDA provider and
    torch is installed. (The torch side then checks that torch really sees CUDA.)
    """
    backend, device = check_backend(backend), check_device(device)
    if backend == "torch" and importlib.util.find_spec("torch") is None:
        raise ParamError("backend", "torch needs torch: pip install torch (a CUDA build for a GPU), or use onnxruntime")
    if backend != "auto":
        return backend
    if device == "cpu" or importlib.util.find_spec("torch") is None:
        return "onnxruntime"
    if device == "auto" and not nvidia_driver_present():
        return "onnxruntime"
    try:
        available = import_onnxruntime().get_available_providers()
    except UserError:
        return "torch"  # no usable onnxruntime at all, but torch is there
    return "onnxruntime" if "CUDAExecutionProvider" in available else "torch"


def cuda_provider_options(cuda_graph: bool) -> dict[str, str]:
    """Options of onnxruntime's CUDA provider for cppnart's models.

    ``use_tf32`` off: TF32 keeps 10 mantissa bits, and the first layer multiplies the coordinates;
    at 16384 px across x steps by 1.2e-4 where TF32 resolves about 1e-3 near |x| = 1, so a TF32
    poster bands where the CPU's is smooth. ``enable_cuda_graph``: the whole graph is replayed as
    one launch per call (a 32-wide net is otherwise bound by kernel launches); it needs fixed
    shapes and bound buffers, which ``BoundSession`` provides.
    """
    return {"use_tf32": "0", "enable_cuda_graph": "1" if cuda_graph else "0"}


def coordinate_model(model: bytes | str) -> bool:
    """The file is a coordinate generator (inputs coords and z, output rgb)."""
    import onnx

    proto = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(model, load_external_data=False)
    inputs = {i.name for i in proto.graph.input}
    return {"coords", "z"} <= inputs and [o.name for o in proto.graph.output] == ["rgb"]


class BoundSession:
    """A coordinate generator's session run through IO binding in calls of fixed shapes.

    ``run_coords(coords, z, chunk)`` (what ``render.bands.run_coords`` calls) feeds the points in
    calls of ``max(chunk, min_points) // B`` rows, the last one padded with zeros to the same
    size: every call has one shape, so on CUDA each shape is captured once as a CUDA graph and
    replayed. Inputs and outputs live in buffers bound once per shape (on the GPU for CUDA); each
    call copies its coordinates in and its colours out once. Padding rows are computed and
    dropped: each point depends only on its own coordinates, so the kept pixels are the same
    (a test checks it bit for bit on the CPU). Anything else (``run``, ``get_providers``) goes to
    the wrapped session.
    """

    def __init__(self, session: Any, device: str = "cpu", min_points: int = 0, cuda_graph: bool = False) -> None:
        self.session, self.device, self.min_points, self.cuda_graph = session, device, min_points, cuda_graph
        self._shapes: dict[tuple[int, int], tuple[Any, Any, Any, Any, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)

    def run(self, names: list[str] | None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """``InferenceSession.run``; coords and z go through the bound buffers (a session with CUDA
        graphs must never see unbound inputs: a replayed graph would read the captured addresses)."""
        if set(feeds) == {"coords", "z"} and names in (None, ["rgb"]):
            coords = np.asarray(feeds["coords"], np.float32)
            return [self.run_coords(coords, np.asarray(feeds["z"], np.float32), coords.shape[0])]
        return self.session.run(names, feeds)

    def _bound(self, rows: int, z: np.ndarray, channels: int | None) -> tuple[Any, Any, Any, Any, Any]:
        """(binding, coords buffer, z buffer, rgb buffer, run options) for calls of ``rows`` points."""
        key = (rows, z.shape[0])
        if key not in self._shapes:
            ort = import_onnxruntime()
            new = ort.OrtValue.ortvalue_from_shape_and_type
            if channels is None:  # the output's channels: from the graph, else one plain call
                shape = self.session.get_outputs()[0].shape
                channels = shape[-1] if isinstance(shape[-1], int) else None
            if channels is None:
                channels = self.session.run(["rgb"], {"coords": np.zeros((1, 2), np.float32), "z": z})[0].shape[2]
            coords_buf = new([rows, 2], np.float32, self.device, 0)
            z_buf = new(list(z.shape), np.float32, self.device, 0)
            rgb_buf = new([z.shape[0], rows, channels], np.float32, self.device, 0)
            binding = self.session.io_binding()
            binding.bind_ortvalue_input("coords", coords_buf)
            binding.bind_ortvalue_input("z", z_buf)
            binding.bind_ortvalue_output("rgb", rgb_buf)
            options = ort.RunOptions()
            if self.cuda_graph:  # one captured graph per shape (onnxruntime >= 1.16)
                options.add_run_config_entry("gpu_graph_id", str(len(self._shapes)))
            self._shapes[key] = (binding, coords_buf, z_buf, rgb_buf, options)
        return self._shapes[key]

    def warm_up(self) -> None:
        """One call of the shape a poster uses (one latent, ``min_points`` coordinates)."""
        z_dim = self.session.get_inputs()[[i.name for i in self.session.get_inputs()].index("z")].shape[1]
        self.run_coords(np.zeros((1, 2), np.float32), np.zeros((1, int(z_dim)), np.float32), self.min_points)

    def run_coords(self, coords: np.ndarray, z: np.ndarray, chunk: int) -> np.ndarray:
        """Colours [B, N, C] of coords [N, 2] for z [B, Z], in padded calls of one shape."""
        rows = max(1, max(chunk, self.min_points) // z.shape[0])
        n = coords.shape[0]
        out: np.ndarray | None = None
        padded = np.zeros((rows, 2), np.float32)
        for start in range(0, n, rows):
            part = coords[start : start + rows]
            if part.shape[0] < rows:  # the last call: same shape, zeros after the real points
                padded[: part.shape[0]] = part
                padded[part.shape[0] :] = 0
                part = padded
            binding, coords_buf, z_buf, rgb_buf, options = self._bound(rows, z, None if out is None else out.shape[2])
            coords_buf.update_inplace(np.ascontiguousarray(part, dtype=np.float32))
            z_buf.update_inplace(np.ascontiguousarray(z, dtype=np.float32))
            self.session.run_with_iobinding(binding, options)
            values = rgb_buf.numpy()  # one copy back per call: per band when a band fits a call
            if out is None:
                out = np.empty((z.shape[0], n, values.shape[2]), np.float32)
            stop = min(n, start + rows)
            out[:, start:stop] = values[:, : stop - start]
        assert out is not None  # n >= 1 (checked by the callers)
        return out


def fp16_blocked_nodes(graph: Any) -> list[str]:
    """Names of the nodes that stay fp32 in an fp16 coordinate model: the first layer (every node
    before the second matrix product that depends on the coordinates, so the coordinates, r and the
    first activation are fp32) and the output (from the last such product on).

    Nodes without names are named ``{op}_{index}`` first (the converter blocks by name)."""
    for i, node in enumerate(graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{i}"
    from_coords = {"coords"}
    products = []
    for i, node in enumerate(graph.node):
        if any(name in from_coords for name in node.input):
            from_coords.update(node.output)
            if node.op_type in ("MatMul", "Gemm"):
                products.append(i)
    if len(products) < 3:  # no hidden layer in between: nothing to convert
        return [node.name for node in graph.node]
    keep = list(graph.node[: products[1]]) + list(graph.node[products[-1] :])
    return [node.name for node in keep]


def drop_fp16_round_trips(graph: Any) -> int:
    """Remove Cast(fp16) -> Cast(fp32) pairs: onnxruntime's converter casts the output of every
    kept node to fp16 and back before the next kept node reads it (and the graph inputs too, with
    ``keep_io_types``), which would round the coordinates to fp16 after all. Consumers of such a
    pair read the fp32 tensor it started from. Returns the pairs removed."""
    from onnx import TensorProto

    def cast_to(node: Any) -> int | None:
        if node.op_type != "Cast":
            return None
        return next((a.i for a in node.attribute if a.name == "to"), None)

    producer = {out: node for node in graph.node for out in node.output}
    rewire: dict[str, str] = {}
    for node in graph.node:
        source = producer.get(node.input[0]) if node.input else None
        if cast_to(node) == TensorProto.FLOAT and source is not None and cast_to(source) == TensorProto.FLOAT16:
            rewire[node.output[0]] = source.input[0]
    for node in graph.node:
        node.input[:] = [rewire.get(name, name) for name in node.input]
    outputs = {o.name for o in graph.output}
    while True:  # drop casts nobody reads any more
        used = {name for node in graph.node for name in node.input} | outputs
        dead = [n for n in graph.node if n.op_type == "Cast" and n.output[0] not in used]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    return len(rewire)


def convert_fp16(model: bytes) -> bytes:
    """An fp16 copy of a coordinate model, by onnxruntime's own converter: inputs and outputs
    stay float32, and so do the first layer and the output (``fp16_blocked_nodes``)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    proto = onnx.load_from_string(model)
    if not coordinate_model(model):
        raise ParamError("precision", "fp16 is for coordinate models (coords, z -> rgb); use fp32 for this model")
    blocked = fp16_blocked_nodes(proto.graph)
    converted = convert_float_to_float16(proto, keep_io_types=True, node_block_list=blocked)
    drop_fp16_round_trips(converted.graph)
    sort_nodes(converted.graph)
    return converted.SerializeToString()


def sort_nodes(graph: Any) -> None:
    """Put the nodes in topological order, as ONNX requires (the converter appends its Casts last)."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        runnable = [n for n in pending if all(name in ready for name in n.input)]
        if not runnable:
            raise ValueError("the graph has a cycle or reads a tensor nothing makes")
        for node in runnable:
            ready.update(node.output)
            ordered.append(node)
        pending = [n for n in pending if not any(n is r for r in runnable)]
    copies = [type(n)() for n in ordered]
    for copy, node in zip(copies, ordered):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)


def preload_cuda_libraries(ort: Any) -> None:
    """Load CUDA and cuDNN from the nvidia-* pip packages (torch's, or onnxruntime-gpu[cuda,cudnn])
    where this onnxruntime build offers it (1.21+), so a session finds them without LD_LIBRARY_PATH."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        with contextlib.suppress(Exception):  # a missing package: the provider check that follows says so
            preload()
