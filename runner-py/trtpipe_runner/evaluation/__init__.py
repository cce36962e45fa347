"""Accuracy of a built model against the FP32 reference."""
