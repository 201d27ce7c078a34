"""ONNX files from elsewhere, checked field by field against the interface before a session runs.

A generator's metadata (``z_dim``, ``channels``, ``interface``, ``image_size``) must agree with
its graph's inputs and outputs (names, ranks, fixed sizes): a file whose metadata lies would
otherwise crash onnxruntime mid-render or write a picture nothing can decode.
"""

from __future__ import annotations

import json
from typing import Any

from ..configs.schema import MAX_SIDE, RANGES, Range, check_ranges, loads_bounded
from ..errors import UserError
from ..graph.proto import ModelInfo, read_model

MAX_MODEL_BYTES = 2 << 30  # protobuf's own limit for one message


def _info(proto: Any) -> ModelInfo:
    """A file's ``graph.proto.ModelInfo``; an ``onnx.ModelProto`` is read through its bytes."""
    return proto if isinstance(proto, ModelInfo) else read_model(proto.SerializeToString())


def _int_field(meta: dict[str, str], key: str, where: str) -> int:
    try:
        return int(meta[key])
    except KeyError:
        raise UserError(f"{where}: metadata has no '{key}'; export the model with cppnart") from None
    except ValueError:
        raise UserError(f"{where}: metadata '{key}' must be an integer, got {meta[key][:40]!r}") from None


def check_generator(proto: Any, where: str) -> dict[str, str]:
    """Metadata of a cppnart generator (a ``graph.proto.ModelInfo`` or an onnx ModelProto), every
    field checked against the graph; one-line errors."""
    info = _info(proto)
    meta = dict(info.metadata)
    inputs = dict(info.inputs)
    outputs = list(info.outputs)
    if "z" not in inputs or "z_dim" not in meta or "channels" not in meta:
        raise UserError(
            f"'{where}' is an ONNX file but not a cppnart generator (no z input or metadata); "
            "export models with `cppnart export` or `cppnart train`"
        )
    z_dim, channels = _int_field(meta, "z_dim", where), _int_field(meta, "channels", where)
    check_ranges(where, {"z_dim": z_dim})
    if channels not in (1, 3):
        raise UserError(f"{where}: metadata 'channels' must be 1 or 3, got {channels}")
    interface = meta.get("interface", "coords")
    z_shape = inputs["z"]
    if len(z_shape) != 2 or (isinstance(z_shape[1], int) and z_shape[1] != z_dim):
        raise UserError(f"{where}: input z has shape {z_shape} but the metadata says z_dim {z_dim}")
    if not outputs:
        raise UserError(f"{where}: the graph has no outputs")
    if interface == "coords":
        if set(inputs) != {"coords", "z"} or _dims_ok(inputs["coords"], 2, {1: 2}) is False:
            raise UserError(f"{where}: a coordinate generator takes coords [N, 2] and z [B, {z_dim}], got {inputs}")
        names = {name: dims for name, dims in outputs}
        if "rgb" not in names or _dims_ok(names["rgb"], 3, {2: channels}) is False:
            raise UserError(f"{where}: a coordinate generator returns rgb [B, N, {channels}], got {dict(names)}")
    elif interface == "image":
        if set(inputs) != {"z"} or _dims_ok(outputs[0][1], 4, {1: channels}) is False:
            raise UserError(f"{where}: an image generator takes z and returns [B, {channels}, H, W], got {outputs}")
        try:
            size = json.loads(meta.get("image_size", "null"))
            ok = isinstance(size, list) and len(size) == 2 and all(type(v) is int and 1 <= v <= MAX_SIDE for v in size)
        except ValueError:
            ok = False
        if not ok:
            raise UserError(f"{where}: metadata 'image_size' must be [width, height], got {meta.get('image_size')!r}")
    else:
        raise UserError(f"{where}: metadata 'interface' must be coords or image, got {interface[:40]!r}")
    if meta.get("config"):
        config = loads_bounded(meta["config"], f"{where}: metadata 'config'", max_chars=1 << 20)
        if not isinstance(config, dict):
            raise UserError(f"{where}: metadata 'config' must be a JSON table")
    if meta.get("seed"):
        seed = _int_field(meta, "seed", where)
        check_ranges(where, {"seed": seed}, {"seed": RANGES["seed"]})
    return meta


def _dims_ok(dims: list[int | str], rank: int, fixed: dict[int, int]) -> bool:
    """False when the rank differs or a fixed size contradicts ``fixed`` (symbolic sizes pass)."""
    if len(dims) != rank:
        return False
    return all(not isinstance(dims[i], int) or dims[i] in (0, v) for i, v in fixed.items())


ENCODER_RANGES = {
    "channels": Range(1, 3, "image channels"),
    "crop": Range(1, 1024, "encoder input side"),
    "data_size": Range(1, 1024, "encoder input side"),
    "z_dim": RANGES["z_dim"],
}


def check_encoder(proto: Any, where: str) -> dict[str, int]:
    """channels, crop, data_size and z_dim of a run's encoder, checked against its graph."""
    info = _info(proto)
    meta = info.metadata
    fields = {key: _int_field(meta, key, where) for key in ENCODER_RANGES}
    check_ranges(where, fields, ENCODER_RANGES)
    if fields["crop"] > fields["data_size"]:
        raise UserError(f"{where}: metadata crop {fields['crop']} exceeds data_size {fields['data_size']}")
    inputs = dict(info.inputs)
    outputs = [dims for _, dims in info.outputs]
    if set(inputs) != {"image"} or not _dims_ok(inputs["image"], 4, {1: fields["channels"]}):
        raise UserError(f"{where}: an encoder takes image [B, {fields['channels']}, H, W], got {inputs}")
    if len(outputs) < 1 or not _dims_ok(outputs[0], 2, {1: fields["z_dim"]}):
        raise UserError(f"{where}: an encoder returns z [B, {fields['z_dim']}], got {outputs}")
    return fields
