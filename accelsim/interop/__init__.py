"""Files of other tools read into accelsim networks and hardware: SCALE-Sim topologies and configs, ONNX models."""
