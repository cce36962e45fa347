"""Calibration and evaluation data: reading and checking it against a model."""
