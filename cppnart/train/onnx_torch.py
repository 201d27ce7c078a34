"""An image classifier from an .onnx file, run in torch (for `dream`) through onnx2torch.

    module, channels, size, taps = convert_onnx("resnet.onnx")   # taps: the converted modules, by node name

The file must take one image batch [B, C, H, W] (fixed C, H, W). The conversion is onnx2torch's
(a well-kept converter; ``pip install -e ".[onnx]"`` from the cppnart folder). onnx2torch imports
torchvision for two detection ops only (NonMaxSuppression, RoiAlign); beside a CPU torch the
package index's only torchvision for torch 2.13 is a CUDA build whose import raises RuntimeError
("operator torchvision::nms does not exist"), and without torchvision onnx2torch does not import
at all. So when torchvision does not import, onnx2torch is imported beside a stand-in that names
those two ops as unsupported: every classifier op converts, measured here with torch 2.13.0+cpu,
onnx2torch 1.5.15 and no torchvision. An op it cannot convert is reported by name, as is a model
that does not take images. Layers are the converted modules whose output is a tensor
(convolutions, activations, linear layers), named after their ONNX nodes.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from ..errors import ParamError, UserError

LAYER_TYPES = (
    "Conv",
    "Relu",
    "ReLU",
    "Linear",
    "Gemm",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "MatMul",
    "BatchNormalization",
    "Add",
    "Clip",
)


def image_input(path: Path, size: tuple[int, int] | None = None) -> tuple[str, int, int, int]:
    """(input name, C, H, W) of the model's single image input; a UserError otherwise. A model
    whose height or width is dynamic takes them from ``size`` (height, width), which it needs;
    a fixed one refuses a ``size`` that differs from its own."""
    model = read_graph(path)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    dims = [[d.dim_value if d.HasField("dim_value") else None for d in i.type.tensor_type.shape.dim] for i in inputs]
    if len(inputs) != 1 or len(dims[0]) != 4 or dims[0][1] is None or dims[0][1] < 1:
        shapes = ", ".join(f"{i.name} {d}" for i, d in zip(inputs, dims))
        raise UserError(
            f"'{path}' is not an image model: dream needs one input [B, C, H, W] with a fixed C; it takes {shapes}"
        )
    channels, height, width = dims[0][1], dims[0][2], dims[0][3]
    if height is None or width is None or height < 1 or width < 1:
        if size is None:
            raise ParamError("size", f"is needed: '{path}' takes images of any size; say which to optimise at")
        height, width = size
    elif size is not None and tuple(size) != (height, width):
        raise ParamError("size", f"must be left out: '{path}' takes {width}x{height} images only")
    return inputs[0].name, int(channels), int(height), int(width)


def read_graph(path: Path) -> Any:
    """The model's graph without its external weights; a file that is not ONNX is a UserError."""
    import onnx

    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # not protobuf at all
        raise UserError(f"'{path}' is not a readable ONNX model ({str(exc).splitlines()[0][:100]})") from None


NORMALISATION_KEYS = (("mean", "std"), ("image_mean", "image_std"), ("norm_mean", "norm_std"))


def normalisation(path: Path) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The input normalisation the model's metadata names (``mean`` and ``std``, as comma-separated
    numbers or a JSON list; or ``image_mean``/``image_std``), or None where it names none. A value
    that is not numbers is a UserError naming the key."""
    import json

    props = {p.key: p.value for p in read_graph(path).metadata_props}
    for mean_key, std_key in NORMALISATION_KEYS:
        if mean_key in props and std_key in props:
            found = []
            for key in (mean_key, std_key):
                text = props[key].strip().strip("[]()")
                try:
                    found.append(tuple(float(v) for v in json.loads(f"[{text}]")))
                except (ValueError, TypeError):
                    raise ParamError(
                        "mean",
                        f"'{path}' has metadata {key}={props[key]!r}, not numbers; give {{param}} and {{std}}",
                        also=("std",),
                    ) from None
            return found[0], found[1]
    return None


def class_names(path: Path) -> tuple[str, ...] | None:
    """The class names the model's metadata lists (``classes``, ``labels`` or ``class_names``: a
    JSON list or comma-separated), or None where it lists none or they are not names."""
    import json

    props = {p.key: p.value for p in read_graph(path).metadata_props}
    for key in ("classes", "labels", "class_names"):
        text = props.get(key, "").strip()
        if not text:
            continue
        try:
            names = json.loads(text) if text.startswith("[") else [n.strip() for n in text.split(",")]
        except ValueError:
            return None
        if isinstance(names, list) and names and all(isinstance(n, str) and n for n in names):
            return tuple(names)
        return None
    return None


NEEDS_TORCHVISION = ("NonMaxSuppression", "RoiAlign")  # onnx2torch's only ops that call torchvision
INSTALL_HINT = 'from the cppnart folder: pip install -e ".[onnx]"'


def _torchvision_works() -> bool:
    try:
        import torchvision  # noqa: F401
    except Exception:  # ImportError when absent; RuntimeError for a build that does not match torch
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]  # a half-imported torchvision must not be found by the stand-in's users
        return False
    return True


def _stand_in() -> dict[str, types.ModuleType]:
    """torchvision and torchvision.ops as onnx2torch imports them, each op refusing to run."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise UserError(f"this model's {' or '.join(NEEDS_TORCHVISION)} op needs a torchvision that imports here")

    vision, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
    ops.roi_align = ops.nms = ops.box_convert = refuse  # type: ignore[attr-defined]
    vision.ops = ops  # type: ignore[attr-defined]
    return {"torchvision": vision, "torchvision.ops": ops}


def _converter() -> tuple[Callable[[Any], nn.Module], Callable[[str, int, str], bool]]:
    """onnx2torch's ``convert``, and whether it converts an op (type, opset version, domain) here
    (without torchvision's two when torchvision does not import)."""
    stand_in = {} if _torchvision_works() else _stand_in()
    saved = {name: sys.modules.get(name) for name in stand_in}
    sys.modules.update(stand_in)
    try:
        from onnx2torch import convert
        from onnx2torch.node_converters.registry import get_converter
    except ImportError:
        raise UserError(f"converting a foreign ONNX model to torch needs onnx2torch; {INSTALL_HINT}") from None
    except Exception as exc:  # a broken install of onnx2torch or of what it imports
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        raise UserError(f"onnx2torch does not import here ({first}); reinstall it, {INSTALL_HINT}") from None
    finally:
        for name, module in saved.items():  # the stand-in serves onnx2torch only
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module

    def converts(op_type: str, version: int, domain: str) -> bool:
        if stand_in and op_type in NEEDS_TORCHVISION:
            return False
        try:
            get_converter(op_type, version, domain)
        except NotImplementedError:
            return False
        return True

    return convert, converts


def unsupported_ops(model: Any, converts: Callable[[str, int, str], bool]) -> list[str]:
    """The op types of ``model`` (an onnx.ModelProto) that the converter has no converter for at
    the model's opset, each with its opset version."""
    opsets = {o.domain or "": o.version for o in model.opset_import}
    missing = set()
    for node in model.graph.node:
        version = opsets.get(node.domain or "", 0)
        if not converts(node.op_type, version, node.domain or ""):
            missing.add(f"{node.op_type} (opset {version})")
    return sorted(missing)


# onnx2torch 1.5.15 converts opset 17's forms best: from 18 on, Reduce ops take their axes as an
# input, which it cannot convert; before 13, some ops have forms it has no converter for (Dropout
# at opset 9, which Caffe2's model-zoo exports keep in their inference graphs).
CONVERTED_OPSET = 17


def at_converted_opset(model: Any) -> Any | None:
    """``model`` at opset ``CONVERTED_OPSET``, down from a newer one (torch.onnx's default exporter
    writes 18) or up from an older one, or None where onnx's version converter cannot take it
    there. The converter leaves ``noop_with_empty_axes`` on the Reduce ops whose opset-13 form has
    no such attribute (onnx 1.23), and an old model's IR version; both are set right here."""
    import onnx
    from onnx import helper, version_converter

    try:
        moved = version_converter.convert_version(model, CONVERTED_OPSET)
        moved.ir_version = max(moved.ir_version, helper.find_min_ir_version_for(list(moved.opset_import)))
        for node in moved.graph.node:
            if node.op_type.startswith("Reduce") and node.op_type != "ReduceSum":
                kept = [a for a in node.attribute if a.name != "noop_with_empty_axes"]
                del node.attribute[:]
                node.attribute.extend(kept)
        onnx.checker.check_model(moved)
    except Exception:  # an op without an adapter, or a graph the checker refuses
        return None
    return moved


def constant_reshapes(model: Any) -> None:
    """Clear ``allowzero`` on Reshapes whose shape is a constant without a 0 (torch.onnx's default
    exporter sets it on every Reshape; onnx2torch refuses it, and without a 0 it changes nothing)."""
    from onnx import numpy_helper

    constants = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        shape = constants.get(node.input[1]) if node.op_type == "Reshape" and len(node.input) > 1 else None
        if shape is not None and 0 not in numpy_helper.to_array(shape).tolist():
            for attribute in node.attribute:
                if attribute.name == "allowzero":
                    attribute.i = 0


def name_unnamed_nodes(model: Any) -> None:
    """Name each node that has no name after its first output, as a scope with the op after it
    (``/conv1_1/Conv``, torch.onnx's form): onnx2torch would name it by its op alone ("Conv",
    "Conv_1", ...), while the outputs of graphs written without node names (Caffe2's, the model
    zoo's) say where in the network a layer is."""
    for node in model.graph.node:
        if not node.name and node.output and node.output[0]:
            scope, _, last = node.output[0].rpartition("/")
            where = scope if scope and last.startswith(node.op_type) else node.output[0]  # torch's ".../Conv_output_0"
            node.name = f"/{where.lstrip('/')}/{node.op_type}"


def unused_dropout_masks(model: Any) -> None:
    """Remove a Dropout's mask output where nothing reads it (Caffe2's exports name one on every
    Dropout): onnx2torch 1.5.15 then treats the node as two outputs and indexes its one tensor,
    which takes the first image of the batch instead of the output."""
    read = {name for node in model.graph.node for name in node.input} | {o.name for o in model.graph.output}
    for node in model.graph.node:
        if node.op_type == "Dropout" and len(node.output) > 1 and node.output[1] not in read:
            del node.output[1:]


def convert_onnx(
    path: Path, size: tuple[int, int] | None = None
) -> tuple[nn.Module, int, tuple[int, int], dict[str, nn.Module]]:
    """An ONNX image classifier in torch: (module, image channels, (height, width), layer modules);
    ``size`` (height, width) for a model whose input size is dynamic."""
    import onnx

    _, channels, height, width = image_input(path, size)
    convert, converts = _converter()
    try:  # with its weights: torch.onnx's default exporter keeps them beside the graph, in NAME.onnx.data
        model = onnx.load(str(path))
    except Exception as exc:  # a weights file that is missing, truncated or outside the model's folder
        raise UserError(f"cannot read the weights of '{path}': {str(exc).splitlines()[0][:160]}") from None
    missing = unsupported_ops(model, converts)
    if missing and {o.version for o in model.opset_import if not o.domain} != {CONVERTED_OPSET}:
        moved = at_converted_opset(model)
        if moved is not None and not unsupported_ops(moved, converts):
            model, missing = moved, []
    if missing:
        raise UserError(f"'{path}' uses ops onnx2torch cannot convert here: {', '.join(missing)}")
    constant_reshapes(model)
    unused_dropout_masks(model)
    name_unnamed_nodes(model)
    try:
        module = convert(model)
    except Exception as exc:  # a converter that exists but rejects this node's attributes
        raise UserError(f"cannot convert '{path}' to torch: {str(exc).splitlines()[0][:160]}") from None
    found: dict[str, nn.Module] = {}
    for name, sub in module.named_modules():
        kind = type(sub).__name__.removeprefix("Onnx")
        if name and not list(sub.children()) and any(kind.startswith(t) or t in kind for t in LAYER_TYPES):
            found[name] = sub
    names = readable_names([n.name for n in model.graph.node], list(found))
    return module, channels, (height, width), {names[k]: v for k, v in found.items()}


def readable_names(node_names: list[str], module_names: list[str]) -> dict[str, str]:
    """A short name for each converted module: the innermost scope of its ONNX node and the op
    ("features.0.3/Conv" for torch.onnx's "/features/features.0/features.0.3/Conv", which
    onnx2torch names "features/features/0/features/0/3/Conv"), with as many outer scopes as make
    it unique ("blocks.16/expand.0/Conv" where every block has an "expand.0"); the module's own
    name where the node has no scope or no scope tells two apart."""
    scoped = {name.lstrip("/").replace(".", "/"): name for name in node_names if name.count("/") >= 2}
    paths: dict[str, list[str]] = {}
    for module in module_names:
        parts = [p for p in scoped.get(module, "").split("/") if p]
        scopes = parts[:-1]
        # a scope followed by its own child ("features", "features.0") says nothing the child does not
        kept = [s for i, s in enumerate(scopes) if i + 1 == len(scopes) or not scopes[i + 1].startswith(s + ".")]
        paths[module] = [*kept, parts[-1]] if len(parts) >= 2 else []
    short = {m: "/".join(p[-2:]) if p else m for m, p in paths.items()}
    for depth in range(3, 1 + max((len(p) for p in paths.values()), default=0)):
        counts: dict[str, int] = {}
        for name in short.values():
            counts[name] = counts.get(name, 0) + 1
        if all(c == 1 for c in counts.values()):
            break
        short = {m: ("/".join(paths[m][-depth:]) if counts[s] > 1 and paths[m] else s) for m, s in short.items()}
    counts = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    return {m: (s if counts[s] == 1 else m) for m, s in short.items()}
