"""The accuracy budget a candidate must meet."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..contract.stages import Budget as ContractBudget


def similarity(v: float) -> str:
    """A value near 1 with the digits that tell it from 1 (0.99999993, not 1.000000)."""
    gap = 1.0 - v
    digits = max(6, math.ceil(-math.log10(gap)) + 2) if 0 < gap < 1 else 6
    return f"{v:.{min(15, digits)}f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Budget:
    cosine: float | None = None          # >= , worst output
    top1_agreement: float | None = None  # >=
    top1_drop: float | None = None       # <= points of task top-1 below the FP32 reference
    max_abs: float | None = None         # <=

    @staticmethod
    def parse(raw: ContractBudget | dict) -> "Budget":
        """From the search params' budget (contract.stages.Budget; a dict is checked first:
        unknown keys and an empty budget are UserErrors)."""
        if isinstance(raw, dict):
            raw = ContractBudget.parse(raw, "budget")
        return Budget(raw.cosine, raw.top1_agreement, raw.top1_drop, raw.max_abs)

    def misses(self, m: dict[str, float]) -> list[str]:
        """What a candidate's metrics miss; empty when the budget holds."""
        out = []
        if m.get("nonfinite", 0) > 0:
            out.append(f"{int(m['nonfinite'])} NaN/Inf values")
        if self.cosine is not None and not m.get("cosine", 0) >= self.cosine:
            out.append(f"cosine {similarity(m.get('cosine', 0))} < {self.cosine}")
        if self.top1_agreement is not None and not m.get("top1_agreement", 0) >= self.top1_agreement:
            out.append(f"top-1 agreement {m.get('top1_agreement', 0):.4f} < {self.top1_agreement}")
        if self.top1_drop is not None and "top1" in m:
            drop = 100.0 * (m["reference_top1"] - m["top1"])
            if not drop <= self.top1_drop:
                out.append(f"top-1 drop {drop:.2f} points > {self.top1_drop}")
        if self.max_abs is not None and not m.get("max_abs", float("inf")) <= self.max_abs:
            out.append(f"max abs error {m.get('max_abs', float('inf')):.4g} > {self.max_abs}")
        return out

    def holds(self, m: dict[str, float]) -> bool:
        return not self.misses(m)

    def error(self, m: dict[str, float]) -> float:
        """One number for "how far from the reference" (lower is better), for sensitivity ranking."""
        if m.get("nonfinite", 0) > 0:
            return float("inf")
        return max(1.0 - m.get("cosine", 0.0), 0.0)
