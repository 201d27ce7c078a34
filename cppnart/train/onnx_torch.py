"""An image classifier from an .onnx file, run in torch (for `dream`) through onnx2torch.

    module, channels, size, taps = convert_onnx("resnet.onnx")   # taps: the converted modules, by node name

The file must take one image batch [B, C, H, W] (fixed C, H, W). The conversion is onnx2torch's
(a well-kept converter; install it with ``pip install onnx2torch`` plus the torchvision that
matches your torch); an op it cannot convert is reported by name, as is a model that does not
take images. Layers are the converted modules whose output is a tensor (convolutions,
activations, linear layers), named after their ONNX nodes.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ..errors import UserError

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


def image_input(path: Path) -> tuple[str, int, int, int]:
    """(input name, C, H, W) of the model's single image input; a UserError otherwise."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # not protobuf at all
        raise UserError(f"'{path}' is not a readable ONNX model ({str(exc).splitlines()[0][:100]})") from None
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    dims = [[d.dim_value if d.HasField("dim_value") else None for d in i.type.tensor_type.shape.dim] for i in inputs]
    if len(inputs) != 1 or len(dims[0]) != 4 or any(d is None or d < 1 for d in dims[0][1:]):
        shapes = ", ".join(f"{i.name} {d}" for i, d in zip(inputs, dims))
        raise UserError(
            f"'{path}' is not an image model: dream needs one input [B, C, H, W] with fixed C, H, W; it takes {shapes}"
        )
    c, h, w = (int(d or 0) for d in dims[0][1:])  # each checked to be set and positive above
    return inputs[0].name, c, h, w


def unsupported_ops(path: Path) -> list[str]:
    """The op types of the file that onnx2torch has no converter for."""
    import onnx
    from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY  # the converter table

    model = onnx.load(str(path), load_external_data=False)
    known = {key.operation_type for key in _CONVERTER_REGISTRY}
    return sorted({node.op_type for node in model.graph.node if node.op_type not in known})


def convert_onnx(path: Path) -> tuple[nn.Module, int, tuple[int, int], dict[str, nn.Module]]:
    """An ONNX image classifier in torch: (module, image channels, (height, width), layer modules)."""
    _, channels, height, width = image_input(path)
    try:
        from onnx2torch import convert
    except ImportError:
        raise UserError(
            f"'{path}' is a foreign ONNX model; converting it to torch needs onnx2torch: pip install onnx2torch "
            "(and the torchvision built for your torch)"
        ) from None
    missing = unsupported_ops(path)
    if missing:
        raise UserError(f"'{path}' uses ops onnx2torch cannot convert: {', '.join(missing)}")
    try:
        module = convert(str(path))
    except Exception as exc:  # a converter that exists but rejects this node's attributes
        raise UserError(f"cannot convert '{path}' to torch: {str(exc).splitlines()[0][:160]}") from None
    taps: dict[str, nn.Module] = {}
    for name, sub in module.named_modules():
        kind = type(sub).__name__.removeprefix("Onnx")
        if name and not list(sub.children()) and any(kind.startswith(t) or t in kind for t in LAYER_TYPES):
            taps[name] = sub
    return module, channels, (height, width), taps
