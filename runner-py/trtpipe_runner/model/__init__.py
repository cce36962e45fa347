"""Reading ONNX models and describing their graphs."""
