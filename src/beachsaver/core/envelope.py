"""The response envelope and the shared schema types of the wire format (02-api §1, 07 §3)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

from beachsaver.core.time import iso_z

T = TypeVar("T")

#: Instants leave the service as ``YYYY-MM-DDTHH:MM:SSZ``.
UtcDateTime = Annotated[datetime, PlainSerializer(lambda v: iso_z(v), return_type=str)]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    trace_id: str
    details: list[FieldProblem] | None = None


class PageMeta(BaseModel):
    page: int
    size: int
    total: int
    total_pages: int


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    data: T | None = None
    error: ErrorBody | None = None
    meta: dict[str, Any] | None = None


class ListEnvelope(BaseModel, Generic[T]):
    success: bool = True
    data: list[T] | None = None
    error: ErrorBody | None = None
    meta: PageMeta | None = None


class ErrorEnvelope(BaseModel):
    success: bool = False
    data: None = None
    error: ErrorBody
    meta: None = None


def ok(data: Any = None, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": True, "data": data, "error": None, "meta": meta}


def page_meta(page: int, size: int, total: int) -> dict[str, int]:
    return {"page": page, "size": size, "total": total, "total_pages": math.ceil(total / size) if total else 0}
