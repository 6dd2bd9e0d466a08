from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from beachsaver.core.envelope import Schema, UtcDateTime
from beachsaver.users.schemas import Strict

#: Largest id the databases store (signed 64-bit); larger numbers are a 400, never a driver error.
MAX_ID = 2**63 - 1

DbId = Annotated[int, Field(gt=0, le=MAX_ID)]


def _places(places: int) -> AfterValidator:
    quantum = Decimal(1).scaleb(-places)
    return AfterValidator(lambda v: v.quantize(quantum, rounding=ROUND_HALF_UP))


#: Decimal degrees in range, rounded to 7 places (07 §3).
Latitude = Annotated[Decimal, Field(ge=-90, le=90, allow_inf_nan=False), _places(7)]
Longitude = Annotated[Decimal, Field(ge=-180, le=180, allow_inf_nan=False), _places(7)]
CoastlineM = Annotated[Decimal, Field(ge=0, lt=Decimal("10000000000"), allow_inf_nan=False), _places(2)]
BeachName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Workplace = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class BeachOut(Schema):
    id: int
    org_id: int
    beach_name: str
    si: str
    gu_gun: str
    dong_eub: str
    workplace: str
    latitude: float
    longitude: float
    coastline_m: float | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class BeachCreate(Strict):
    org_id: DbId
    beach_name: BeachName
    si: Place
    gu_gun: Place
    dong_eub: Place
    workplace: Workplace
    latitude: Latitude
    longitude: Longitude
    coastline_m: CoastlineM | None = None


class BeachUpdate(Strict):
    """Partial: only the fields given change; ``coastline_m`` may be set to null."""

    org_id: DbId | None = None
    beach_name: BeachName | None = None
    si: Place | None = None
    gu_gun: Place | None = None
    dong_eub: Place | None = None
    workplace: Workplace | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    coastline_m: CoastlineM | None = None

    @field_validator("org_id", "beach_name", "si", "gu_gun", "dong_eub", "workplace", "latitude", "longitude")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out but not null")
        return value
