"""Accuracy-budgeted precision search: the fewest nodes kept in higher precision."""
