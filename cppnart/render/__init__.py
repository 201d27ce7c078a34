"""Render: ONNX -> pixels with onnxruntime and numpy (never torch): bands, frames, sheets, models."""
