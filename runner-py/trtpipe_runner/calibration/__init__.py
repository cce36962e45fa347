"""Activation statistics -> quantization thresholds (minmax, entropy, percentile) and SmoothQuant factors."""
