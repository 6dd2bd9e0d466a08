"""Reusable validated input types of the wire format (07 §3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from beachsaver.core.time import utcnow

FUTURE_SKEW = timedelta(minutes=5)


def _round7(value: float) -> float:
    return round(value, 7)


def _not_future(value: datetime) -> datetime:
    if value > utcnow() + FUTURE_SKEW:
        raise ValueError("must not be in the future")
    return value


Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False), AfterValidator(_round7)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False), AfterValidator(_round7)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("9999999999.99"), decimal_places=2, allow_inf_nan=False)]
PastInstant = Annotated[AwareDatetime, AfterValidator(_not_future)]
Instant = AwareDatetime
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(max_length=2000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
MAX_ID = 2**63 - 1
PositiveId = Annotated[int, Field(gt=0, le=MAX_ID)]
#: A row id in a URL path: outside 1 … 2^63-1 it is a 400 naming ``path.<name>``, never a number
#: the database driver cannot bind (a 500).
IdPath = Annotated[int, Path(gt=0, le=MAX_ID)]
