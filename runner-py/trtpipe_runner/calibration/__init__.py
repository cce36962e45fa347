"""Activation ranges -> quantization thresholds (minmax, entropy, percentile)."""
