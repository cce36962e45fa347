"""Localization: where a low-precision graph departs from FP32, node by node (the localize stage)."""
