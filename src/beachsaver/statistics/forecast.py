"""The litter forecast: expected kg per beach for the next month, and its honest back-test.

Months are integers (``year * 12 + month - 1``). A beach's history maps months to kg cleaned
plus kg collected. A beach's record starts at its first month with litter; inside the record a
month without an entry is a real zero (nothing was cleaned or collected).

Method (seasonal-naive with a fallback): the forecast of month T uses only complete months
before T - 1 — exactly what is known when the forecast is made during month T - 1, the
current month being incomplete:

- the same month last year (T - 12), when it lies inside the beach's record;
- otherwise the mean of the last three usable months (fewer when the record is shorter, at
  least one);
- otherwise no forecast (``None``).

The back-test forecasts each of the last 12 complete months from the data before it, in the
same way, and compares it with what happened: MAPE (%) over every (beach, month) whose actual
is above zero and whose forecast could be made; ``None`` when there is no such pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

#: Tonne bands of the forecast map (kg thresholds).
BANDS: tuple[tuple[float, str], ...] = ((1000.0, "0-1t"), (5000.0, "1-5t"), (10000.0, "5-10t"))
TOP_BAND = "10t+"
BACKTEST_MONTHS = 12
FALLBACK_MONTHS = 3
METHOD = "seasonal_naive"


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def band(kg: float | None) -> str | None:
    """``[0,1)`` → ``0-1t``, ``[1,5)`` → ``1-5t``, ``[5,10)`` → ``5-10t``, ``[10,∞)`` → ``10t+``."""
    if kg is None:
        return None
    for limit, label in BANDS:
        if kg < limit:
            return label
    return TOP_BAND


def record_start(series: Mapping[int, float], cutoff: int) -> int | None:
    """The first month with litter among the months known before ``cutoff``."""
    months = [m for m, kg in series.items() if m < cutoff and kg > 0]
    return min(months) if months else None


def predict(series: Mapping[int, float], target: int) -> float | None:
    """The forecast of ``target`` from the complete months before ``target - 1``."""
    cutoff = target - 1  # months >= cutoff are not known yet
    start = record_start(series, cutoff)
    if start is None:
        return None
    seasonal = target - 12
    if start <= seasonal:
        return float(series.get(seasonal, 0.0))
    window = [m for m in range(cutoff - FALLBACK_MONTHS, cutoff) if m >= start]
    return sum(float(series.get(m, 0.0)) for m in window) / len(window)


@dataclass
class Backtest:
    mape: float | None
    pairs: int
    months: list[str]


def backtest(histories: Mapping[int, Mapping[int, float]], current: int) -> Backtest:
    """MAPE (%) of the forecasts of the last 12 complete months (``current - 12 … current - 1``)."""
    errors_pct: list[float] = []
    months: set[int] = set()
    for target in range(current - BACKTEST_MONTHS, current):
        for series in histories.values():
            actual = float(series.get(target, 0.0))
            if actual <= 0:
                continue
            predicted = predict(series, target)
            if predicted is None:
                continue
            errors_pct.append(abs(actual - predicted) / actual * 100.0)
            months.add(target)
    if not errors_pct:
        return Backtest(mape=None, pairs=0, months=[])
    return Backtest(
        mape=round(sum(errors_pct) / len(errors_pct), 2),
        pairs=len(errors_pct),
        months=[month_label(m) for m in sorted(months)],
    )
