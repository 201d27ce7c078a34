"""Render with torch: the same ONNX file, its ops run one by one in torch, on CUDA or the CPU.

    renderer = TorchRenderer("cuda")             # render.renderer.SessionRenderer with TorchSessions
    save_poster(model, z, 16384, 16384, "big.png", renderer=renderer)

For machines with torch on CUDA and no onnxruntime-gpu (its wheel is large; torch is there for
training). ``TorchSession`` reads the graph's nodes and initializers and evaluates them in
order with the torch op of the same meaning (the table below), so it needs no converter
(onnx2torch needs torchvision, which does not import beside this torch) and runs exactly the
graph onnxruntime runs: same weights, same op order (the scale folded into the first layer, the
softplus as relu(x) + log(1 + exp(-|x|))). On the CPU it matches onnxruntime to float rounding
(tests/train/test_gpu_torch.py states the tolerance). TF32 is switched off, as in onnxruntime's CUDA
sessions (``render.runtime.cuda_provider_options``): the first layer multiplies the coordinates.
Only coordinate generators (coords, z -> rgb) are taken; an op outside the table is a one-line
error naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..errors import ParamError, UserError
from ..render.renderer import SessionRenderer
from ..render.runtime import GPU_POINTS, check_precision, convert_fp16, coordinate_model


def _attr(node: Any, name: str, default: Any = None) -> Any:
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _reduce_sum(node: Any, x: torch.Tensor, axes: torch.Tensor | None = None) -> torch.Tensor:
    dims = [int(a) for a in axes.tolist()] if axes is not None else list(range(x.dim()))
    return torch.sum(x, dim=dims, keepdim=bool(_attr(node, "keepdims", 1)))


def _unsqueeze(node: Any, x: torch.Tensor, axes: torch.Tensor | None = None) -> torch.Tensor:
    dims = [int(a) for a in axes.tolist()] if axes is not None else list(_attr(node, "axes"))
    for d in sorted(d % (x.dim() + len(dims)) for d in dims):
        x = x.unsqueeze(d)
    return x


def _squeeze(node: Any, x: torch.Tensor, axes: torch.Tensor | None = None) -> torch.Tensor:
    if axes is None:
        return x.squeeze()
    return x.squeeze([int(a) for a in axes.tolist()])


def _gemm(node: Any, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    a = a.T if _attr(node, "transA", 0) else a
    b = b.T if _attr(node, "transB", 0) else b
    y = _attr(node, "alpha", 1.0) * (a @ b)
    return y if c is None else y + _attr(node, "beta", 1.0) * c


def _cast(node: Any, x: torch.Tensor) -> torch.Tensor:
    from onnx import TensorProto

    dtypes = {
        TensorProto.FLOAT: torch.float32,
        TensorProto.FLOAT16: torch.float16,
        TensorProto.INT64: torch.int64,
        TensorProto.BFLOAT16: torch.bfloat16,
    }
    return x.to(dtypes[_attr(node, "to")])


def _split(node: Any, x: torch.Tensor, sizes: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    axis = _attr(node, "axis", 0)
    if sizes is None:
        sizes_list = _attr(node, "split") or [x.shape[axis] // len(node.output)] * len(node.output)
    else:
        sizes_list = [int(s) for s in sizes.tolist()]
    return torch.split(x, list(sizes_list), dim=axis)


def _reshape(node: Any, x: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    dims = [int(s) for s in shape.tolist()]
    dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]  # ONNX: 0 keeps that dimension
    return x.reshape(dims)


# ONNX op -> torch, for the ops cppnart's graphs use (graph.builder, and torch's dynamo exporter
# for trained CPPNs). Each takes the node (for attributes) and its input tensors.
OPS: dict[str, Callable[..., Any]] = {
    "MatMul": lambda n, a, b: a @ b,
    "Gemm": _gemm,
    "Add": lambda n, a, b: a + b,
    "Sub": lambda n, a, b: a - b,
    "Mul": lambda n, a, b: a * b,
    "Div": lambda n, a, b: a / b,
    "Pow": lambda n, a, b: torch.pow(a, b),
    "Neg": lambda n, x: -x,
    "Abs": lambda n, x: torch.abs(x),
    "Exp": lambda n, x: torch.exp(x),
    "Log": lambda n, x: torch.log(x),
    "Sqrt": lambda n, x: torch.sqrt(x),
    "Tanh": lambda n, x: torch.tanh(x),
    "Sigmoid": lambda n, x: torch.sigmoid(x),
    "Softplus": lambda n, x: torch.nn.functional.softplus(x),
    "Relu": lambda n, x: torch.relu(x),
    "Sin": lambda n, x: torch.sin(x),
    "Cos": lambda n, x: torch.cos(x),
    "Identity": lambda n, x: x,
    "Cast": _cast,
    "ReduceSum": _reduce_sum,
    "Concat": lambda n, *xs: torch.cat(xs, dim=_attr(n, "axis")),
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Reshape": _reshape,
    "Transpose": lambda n, x: x.permute(*(_attr(n, "perm") or reversed(range(x.dim())))),
    "Split": _split,
    "Expand": lambda n, x, shape: x * torch.ones([int(s) for s in shape.tolist()], dtype=x.dtype, device=x.device),
    "Clip": lambda n, x, lo=None, hi=None: torch.clamp(x, lo, hi),
}


class TorchSession:
    """A coordinate generator's ONNX graph evaluated node by node in torch on ``device``.

    ``run(names, feeds)`` answers like an onnxruntime session; ``run_coords(coords, z, chunk)``
    (what ``render.bands.run_coords`` calls) evaluates the points in calls of ``max(chunk,
    min_points) // B`` rows (on CUDA at least ``GPU_POINTS``: one call per band).
    """

    def __init__(self, onnx_bytes: bytes, device: torch.device, min_points: int = 0) -> None:
        import onnx
        from onnx import numpy_helper

        if not coordinate_model(onnx_bytes):
            raise UserError("the torch backend renders coordinate models (coords, z -> rgb); use the onnxruntime one")
        graph = onnx.load_from_string(onnx_bytes).graph
        missing = sorted({node.op_type for node in graph.node} - set(OPS))
        if missing:
            raise UserError(
                f"the torch backend has no op {', '.join(missing)} (this model's graph uses it); "
                "render it with the onnxruntime backend"
            )
        self.device, self.min_points = device, min_points
        self.nodes = list(graph.node)
        self.outputs = [o.name for o in graph.output]
        self.constants = {
            t.name: torch.from_numpy(np.array(numpy_helper.to_array(t))).to(device) for t in graph.initializer
        }
        for node in self.nodes:  # Constant nodes: values known before any call
            if node.op_type == "Constant":
                value = numpy_helper.to_array(_attr(node, "value"))
                self.constants[node.output[0]] = torch.from_numpy(np.array(value)).to(device)
        self.nodes = [n for n in self.nodes if n.op_type != "Constant"]

    def get_providers(self) -> list[str]:
        """What runs the graph, in the words of onnxruntime's ``get_providers``."""
        return [f"torch:{self.device}"]

    def _forward(self, feeds: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        values: dict[str, Any] = {**self.constants, **feeds}
        for node in self.nodes:
            args = [values[name] if name else None for name in node.input]
            while args and args[-1] is None:  # optional inputs left out
                args.pop()
            result = OPS[node.op_type](node, *args)
            for name, value in zip(node.output, result if isinstance(result, tuple) else (result,)):
                values[name] = value
        return [values[name] for name in self.outputs]

    def run(self, names: list[str] | None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The outputs ``names`` (None: all) for numpy ``feeds``, as numpy arrays."""
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for k, v in feeds.items()}
        with torch.inference_mode():
            outputs = dict(zip(self.outputs, self._forward(tensors)))
        return [outputs[name].float().cpu().numpy() for name in names or self.outputs]

    def run_coords(self, coords: np.ndarray, z: np.ndarray, chunk: int) -> np.ndarray:
        """Colours [B, N, C] of coords [N, 2] for z [B, Z]."""
        rows = max(1, max(chunk, self.min_points) // z.shape[0])
        out: np.ndarray | None = None
        with torch.inference_mode():
            z_t = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)).to(self.device)
            for start in range(0, coords.shape[0], rows):
                part = torch.from_numpy(np.ascontiguousarray(coords[start : start + rows], np.float32))
                values = self._forward({"coords": part.to(self.device), "z": z_t})[0].float().cpu().numpy()
                if out is None:
                    out = np.empty((z.shape[0], coords.shape[0], values.shape[2]), np.float32)
                out[:, start : start + values.shape[1]] = values
        assert out is not None  # coords holds at least one point (checked by the callers)
        return out


def torch_sees_cuda() -> bool:
    """torch has a CUDA GPU to render on."""
    return torch.cuda.is_available()


def torch_render_device(device: str = "auto") -> torch.device:
    """Where torch renders: ``train.device.choose_device`` with TF32 off (the coordinates feed a matmul)."""
    from .device import choose_device, no_tf32

    try:
        chosen = choose_device(device)
    except UserError:
        raise ParamError(
            "device",
            "{param} cuda: torch sees no CUDA GPU and onnxruntime has no CUDA provider; use {param} cpu, or install "
            "onnxruntime-gpu (pip uninstall -y onnxruntime, then pip install -e '.[gpu]') or torch with CUDA",
        ) from None
    no_tf32()
    return chosen


def torch_session(onnx_bytes: bytes, device: str = "auto", precision: str = "fp32") -> TorchSession:
    """A ``TorchSession`` of the model on ``device``; fp16 runs ``render.runtime.convert_fp16``'s graph."""
    chosen = torch_render_device(device)
    if check_precision(precision) == "fp16":
        onnx_bytes = convert_fp16(onnx_bytes)
    return TorchSession(onnx_bytes, chosen, GPU_POINTS if chosen.type == "cuda" else 0)


class TorchRenderer(SessionRenderer):
    """Renders here, every model through a ``TorchSession`` on ``device`` in ``precision``."""

    def __init__(self, device: str = "auto", precision: str = "fp32") -> None:
        check_precision(precision)
        chosen = str(torch_render_device(device))  # before any work: no GPU is an error now, not at the first band
        super().__init__(lambda model: torch_session(model.onnx_bytes, chosen, precision))
        self.device, self.precision = chosen, precision
