"""Measuring latency: the timing protocol (loop.py), statistics (stats.py) and the state
of the device a measurement ran on (host_state.py, gpu_state.py)."""
