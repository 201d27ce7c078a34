"""Graph: numpy weights -> ONNX, with numpy and onnx alone (no runtime, no torch)."""
