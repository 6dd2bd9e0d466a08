"""Unit tests of the core helpers behind the conventions (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from beachsaver.core import errors
from beachsaver.core.envelope import ErrorEnvelope, ok, page_meta
from beachsaver.core.http import _loc_to_field, validation_details
from beachsaver.core.i18n import pick_language, translate
from beachsaver.core.paging import PageParams, parse_filter, parse_sort
from beachsaver.core.trace import trace_id_from_headers, trace_id_from_traceparent
from beachsaver.users.models import User


class Area(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start_latitude: float = Field(ge=-90, le=90)
    area_name: str = Field(min_length=1, max_length=5)


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    areas: list[Area]
    note: str | None = None


def details_for(payload: dict[str, Any], lang: str = "en") -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as caught:
        ReportIn.model_validate(payload)
    errs = [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]
    return validation_details(errs, lang)


def test_nested_paths_and_every_problem() -> None:
    details = details_for(
        {"areas": [{"start_latitude": 1, "area_name": "a"}, {"start_latitude": 91, "area_name": ""}], "x": 1}
    )
    assert details == [
        {"field": "areas[1].start_latitude", "message": "Must be at most 90."},
        {"field": "areas[1].area_name", "message": "Must be at least 1 characters."},
        {"field": "x", "message": "Unknown field."},
    ]


def test_korean_messages_carry_the_limits() -> None:
    details = details_for({"areas": [{"start_latitude": -91, "area_name": "abcdefg"}]}, "ko")
    assert details == [
        {"field": "areas[0].start_latitude", "message": "-90 이상이어야 합니다."},
        {"field": "areas[0].area_name", "message": "5자 이하로 입력해 주세요."},
    ]


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("body",), "body"),
        (("body", "areas", 0, "start_latitude"), "areas[0].start_latitude"),
        (("body", "areas", 2), "areas[2]"),
        (("body", "vehicle", "function-after[check()]", "capacity_t"), "vehicle.capacity_t"),
        (("query", "page"), "query.page"),
        (("path", "user_id"), "path.user_id"),
        (("header", "x-thing"), "header.x-thing"),
        ((), "body"),
    ],
)
def test_loc_to_field(loc: tuple[Any, ...], field: str) -> None:
    assert _loc_to_field(loc) == field


def test_pick_language() -> None:
    assert pick_language(None) == "ko"
    assert pick_language("") == "ko"
    assert pick_language("EN") == "en"
    assert pick_language("en-GB;q=0.7, ko;q=0.9") == "ko"
    assert pick_language("en;q=abc, fr") == "ko"


def test_translate_is_safe_with_literal_text_and_missing_params() -> None:
    assert translate("greater_than_equal", "en", ge=1) == "Must be at least 1."
    assert translate("greater_than_equal", "ko") == "{ge} 이상이어야 합니다."
    assert translate("a literal {with} braces", "en", other=1) == "a literal {with} braces"
    assert translate("a literal {0} index", "en", other=1) == "a literal {0} index"
    assert translate("not_found", "xx") == "대상을 찾을 수 없습니다."


def test_trace_helpers() -> None:
    assert trace_id_from_headers("abc", None) == "abc"
    assert trace_id_from_headers("abc\n", None) != "abc\n"  # a trailing newline is not allowed
    assert trace_id_from_traceparent(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ") == (
        "4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert trace_id_from_traceparent(None) is None
    assert trace_id_from_traceparent("") is None


def test_parse_sort_adds_the_default_order_without_repeating_a_column() -> None:
    allowed = {"created_at": User.created_at, "id": User.id, "nickname": User.nickname}
    default = [User.created_at.desc(), User.id.desc()]
    order = parse_sort(PageParams(1, 20, "created_at,asc", None), allowed, default)
    assert [str(o) for o in order] == ["users.created_at ASC", "users.id DESC"]
    order = parse_sort(PageParams(1, 20, "nickname;id,DESC", None), allowed, default)
    assert [str(o) for o in order] == ["users.nickname ASC", "users.id DESC", "users.created_at DESC"]
    assert parse_sort(PageParams(1, 20, None, None), allowed, default) == default


def test_parse_sort_and_filter_report_every_problem() -> None:
    allowed = {"id": User.id}
    with pytest.raises(errors.ValidationFailed) as caught:
        parse_sort(PageParams(1, 20, "a;id,up;b,desc", None), allowed, [])
    assert caught.value.details == [
        {"field": "query.sort", "message": "unknown_sort_field", "name": "a"},
        {"field": "query.sort", "message": "sort_direction", "name": "id"},
        {"field": "query.sort", "message": "unknown_sort_field", "name": "b"},
    ]
    filters = {"id": lambda v: User.id == int(v)}
    with pytest.raises(errors.ValidationFailed) as caught:
        parse_filter(PageParams(1, 20, None, "id=x,zzz=1,novalue"), filters)
    assert caught.value.details == [
        {"field": "query.filter", "message": "invalid_filter_value", "name": "id"},
        {"field": "query.filter", "message": "unknown_filter_field", "name": "zzz"},
        {"field": "query.filter", "message": "filter_syntax", "name": "novalue"},
    ]
    assert len(parse_filter(PageParams(1, 20, None, "id=3, "), filters)) == 1


def test_envelope_helpers() -> None:
    assert ok({"a": 1}) == {"success": True, "data": {"a": 1}, "error": None, "meta": None}
    assert page_meta(1, 20, 0) == {"page": 1, "size": 20, "total": 0, "total_pages": 0}
    assert page_meta(2, 20, 41) == {"page": 2, "size": 20, "total": 41, "total_pages": 3}
    envelope = ErrorEnvelope.model_validate(
        {"error": {"code": "NOT_FOUND", "message": "m", "trace_id": "t"}}
    ).model_dump()
    assert envelope == {
        "success": False,
        "data": None,
        "error": {"code": "NOT_FOUND", "message": "m", "trace_id": "t", "details": None},
        "meta": None,
    }
