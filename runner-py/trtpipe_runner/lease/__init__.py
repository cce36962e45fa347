"""Device leases: no stage runs on a device while a benchmark times on it (leases.py)."""
