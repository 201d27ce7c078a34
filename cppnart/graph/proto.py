"""The few ONNX messages cppnart writes and reads, in protobuf's wire format, without ``onnx``.

``import onnx`` costs 0.5-1.5 s (nearly all of it ml_dtypes' extension, loaded by
``onnx.helper``), three times the rest of a preset render's start-up; a preset's graph uses
five message types and a loaded file is asked for its metadata, its inputs and outputs and its
initializers' shapes. So the graph builder writes the bytes here and the render side reads them
here; ``onnx`` stays where graphs come from torch or are edited. The writer emits fields in
field-number order with proto2 presence, as protobuf's own serialiser does, so the bytes are
those ``onnx.helper`` + ``SerializeToString`` gave (tests/cli/test_startup.py compares every preset).

Field numbers are onnx.proto's (onnx/onnx-ml.proto, IR version 8 and later).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# TensorProto.DataType of the numpy dtypes the builders use.
DATA_TYPES = {
    np.dtype(np.float32): 1,
    np.dtype(np.uint8): 2,
    np.dtype(np.int8): 3,
    np.dtype(np.int32): 6,
    np.dtype(np.int64): 7,
    np.dtype(np.bool_): 9,
    np.dtype(np.float16): 10,
    np.dtype(np.float64): 11,
}
FLOAT = 1  # TensorProto.FLOAT

_MASK64 = (1 << 64) - 1


# --- writing ---------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    value &= _MASK64  # negative int64s are ten bytes of two's complement, as protobuf writes them
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _str(number: int, text: str) -> bytes:
    return _bytes(number, text.encode("utf-8"))


@dataclass
class Node:
    """A NodeProto: an operator, its inputs and outputs, and its attributes (ints, floats, strings
    or lists of ints/floats), written in sorted order as ``onnx.helper.make_node`` does."""

    op_type: str
    input: list[str]
    output: list[str]
    attributes: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The NodeProto's wire bytes (inputs, outputs, op type, attributes sorted by name, as onnx writes them)."""
        out = [_str(1, name) for name in self.input] + [_str(2, name) for name in self.output]
        out.append(_str(4, self.op_type))
        attributes = sorted((k, v) for k, v in self.attributes.items() if v is not None)
        out += [_bytes(5, _attribute(key, value)) for key, value in attributes]
        return b"".join(out)


def _attribute(name: str, value: Any) -> bytes:
    """An AttributeProto: name (1), the value (f 2, i 3, s 4, floats 7, ints 8), type (20)."""
    head = _str(1, name)
    if isinstance(value, (bool, int, np.integer)):
        return head + _int(3, int(value)) + _int(20, 2)
    if isinstance(value, (float, np.floating)):
        return head + _varint(2 << 3 | 5) + struct.pack("<f", float(value)) + _int(20, 1)
    if isinstance(value, str):
        return head + _str(4, value) + _int(20, 3)
    items = list(value)
    if items and all(isinstance(v, (int, np.integer)) for v in items):
        return head + b"".join(_int(8, int(v)) for v in items) + _int(20, 7)
    if items and all(isinstance(v, (int, float, np.number)) for v in items):
        return head + b"".join(_varint(7 << 3 | 5) + struct.pack("<f", float(v)) for v in items) + _int(20, 6)
    raise TypeError(f"attribute {name!r}: cannot write {type(value).__name__} {value!r}")


@dataclass
class Tensor:
    """A TensorProto with raw little-endian data, as ``onnx.numpy_helper.from_array`` writes it."""

    name: str
    array: np.ndarray

    def encode(self) -> bytes:
        """The TensorProto's wire bytes: dims, data type, name and the raw little-endian data."""
        array = np.asarray(self.array)
        if array.dtype not in DATA_TYPES:
            raise TypeError(f"initializer {self.name!r}: no ONNX type for dtype {array.dtype}")
        dims = b"".join(_int(1, d) for d in array.shape)
        raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        return dims + _int(2, DATA_TYPES[array.dtype]) + _str(8, self.name) + _bytes(9, raw)


@dataclass(frozen=True)
class ValueInfo:
    """A tensor input or output of a graph: name, element type and shape (ints fixed, strings symbolic)."""

    name: str
    elem_type: int
    shape: Sequence[int | str]

    def encode(self) -> bytes:
        """The ValueInfoProto's wire bytes: name and tensor type (element type and shape, dims fixed or named)."""
        dims = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _str(2, d)) for d in self.shape)
        tensor = _int(1, self.elem_type) + _bytes(2, dims)
        return _str(1, self.name) + _bytes(2, _bytes(1, tensor))


def _message(value: Any) -> bytes:
    """Bytes of one of ours (``encode``) or of an onnx message (``SerializeToString``): both nest the same."""
    encode = getattr(value, "encode", None)
    return encode() if encode is not None else value.SerializeToString()


def graph_bytes(
    name: str, nodes: Sequence[Any], inputs: Sequence[Any], outputs: Sequence[Any], initializers: Sequence[Any]
) -> bytes:
    """A GraphProto: node (1), name (2), initializer (5), input (11), output (12)."""
    return b"".join(
        [
            *(_bytes(1, _message(n)) for n in nodes),
            _str(2, name),
            *(_bytes(5, _message(t)) for t in initializers),
            *(_bytes(11, _message(v)) for v in inputs),
            *(_bytes(12, _message(v)) for v in outputs),
        ]
    )


def model_bytes(
    graph: bytes, *, ir_version: int, opset: int, producer_name: str, producer_version: str, metadata: dict[str, str]
) -> bytes:
    """A ModelProto: ir_version (1), producer (2, 3), graph (7), the default-domain opset (8),
    metadata_props (14), as ``onnx.helper.make_model`` + ``set_model_props`` fill them."""
    opset_id = _str(1, "") + _int(2, opset)
    props = b"".join(_bytes(14, _str(1, k) + _str(2, v)) for k, v in metadata.items())
    return (
        _int(1, ir_version)
        + _str(2, producer_name)
        + _str(3, producer_version)
        + _bytes(7, graph)
        + _bytes(8, opset_id)
        + props
    )


# --- reading ---------------------------------------------------------------------------------


class DecodeError(ValueError):
    """Bytes that are not a well-formed protobuf message (truncated, or not ONNX at all)."""


def _read_varint(data: memoryview, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise DecodeError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & _MASK64, pos
        shift += 7


def _fields(data: memoryview, start: int, end: int) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message: an int for varints and fixed-size values,
    a (start, end) span for length-delimited ones. Every field is walked, so a damaged message fails."""
    pos = start
    while pos < end:
        key, pos = _read_varint(data, pos, end)
        number, wire = key >> 3, key & 7
        value: Any
        if number == 0:
            raise DecodeError("field number 0")
        if wire == 0:
            value, pos = _read_varint(data, pos, end)
        elif wire == 2:
            size, pos = _read_varint(data, pos, end)
            if size > end - pos:
                raise DecodeError("length past the end of the message")
            value, pos = (pos, pos + size), pos + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > end:
                raise DecodeError("truncated fixed-size field")
            value, pos = int.from_bytes(data[pos : pos + width], "little"), pos + width
        else:
            raise DecodeError(f"wire type {wire} (groups are not ONNX)")
        yield number, wire, value


def _text(data: memoryview, span: tuple[int, int]) -> str:
    return bytes(data[span[0] : span[1]]).decode("utf-8")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass
class ModelInfo:
    """What the render side asks of an ONNX file: metadata_props, the graph's inputs and outputs
    (name, dims: ints for fixed sizes, names for symbolic ones, "?" for neither) and the shapes of
    its initializers."""

    metadata: dict[str, str]
    inputs: list[tuple[str, list[int | str]]]
    outputs: list[tuple[str, list[int | str]]]
    initializer_dims: list[tuple[int, ...]]


def read_model(data: bytes) -> ModelInfo:
    """Parse a serialised ModelProto far enough for ``ModelInfo``; DecodeError when it is not one.

    Tensor data is never copied (a 1 GB model reads in microseconds), and nodes are walked only
    to check that they are well-formed messages.
    """
    view = memoryview(data)
    metadata: dict[str, str] = {}
    graphs: list[tuple[int, int]] = []  # a message field given twice is both merged, as protobuf reads it
    for number, wire, value in _fields(view, 0, len(view)):
        if number == 14 and wire == 2:
            entry = {n: _text(view, v) for n, w, v in _fields(view, *value) if w == 2 and n in (1, 2)}
            metadata[entry.get(1, "")] = entry.get(2, "")
        elif number == 7 and wire == 2:
            graphs.append(value)
    info = ModelInfo(metadata, [], [], [])
    for graph in graphs:
        for number, wire, value in _fields(view, *graph):
            if wire != 2:
                continue
            if number in (11, 12):
                (info.inputs if number == 11 else info.outputs).append(_value_info(view, value))
            elif number == 5:
                info.initializer_dims.append(_tensor_dims(view, value))
            elif number == 1:
                for _ in _fields(view, *value):  # a node: only checked to be a message
                    pass
    return info


def _value_info(data: memoryview, span: tuple[int, int]) -> tuple[str, list[int | str]]:
    name, dims = "", []
    for number, wire, value in _fields(data, *span):
        if number == 1 and wire == 2:
            name = _text(data, value)
        elif number == 2 and wire == 2:  # TypeProto -> tensor_type (1) -> shape (2) -> dim (1)
            for n, w, tensor in _fields(data, *value):
                if n == 1 and w == 2:
                    for n2, w2, shape in _fields(data, *tensor):
                        if n2 == 2 and w2 == 2:
                            dims = [_dim(data, d) for n3, w3, d in _fields(data, *shape) if n3 == 1 and w3 == 2]
    return name, dims


def _dim(data: memoryview, span: tuple[int, int]) -> int | str:
    value: int | str = "?"
    for number, wire, item in _fields(data, *span):
        if number == 1 and wire == 0:
            value = _signed(item)
        elif number == 2 and wire == 2:
            value = _text(data, item) or "?"
    return value


def _tensor_dims(data: memoryview, span: tuple[int, int]) -> tuple[int, ...]:
    dims: list[int] = []
    for number, wire, value in _fields(data, *span):
        if number == 1 and wire == 0:
            dims.append(_signed(value))
        elif number == 1 and wire == 2:  # packed, as some writers emit repeated int64
            pos, end = value
            while pos < end:
                item, pos = _read_varint(data, pos, end)
                dims.append(_signed(item))
    return tuple(dims)
