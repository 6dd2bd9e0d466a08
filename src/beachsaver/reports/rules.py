"""Pure rules of the field workflow: who may author what, what a submission needs, slot types."""

from __future__ import annotations

from typing import Any

from beachsaver.core.enums import ImageType, ReportType

MAIN_IMAGE_TYPES = {
    ReportType.INVESTIGATION: {ImageType.INVESTIGATION_MAIN, ImageType.INVESTIGATION_AREA},
    ReportType.CLEANING: {ImageType.CLEANING_BEFORE_AREA, ImageType.CLEANING_AFTER_AREA},
    ReportType.COLLECTION_REQUEST: {ImageType.COLLECTION_DEPOT},
}
AREA_IMAGE_TYPES = {
    ReportType.INVESTIGATION: {ImageType.INVESTIGATION_AREA, ImageType.INVESTIGATION_MAIN},
    ReportType.CLEANING: {ImageType.CLEANING_BEFORE_AREA, ImageType.CLEANING_AFTER_AREA},
    ReportType.COLLECTION_REQUEST: set(),
}
DEPOT_IMAGE_TYPES = {ImageType.COLLECTION_DEPOT}
COMPLETION_IMAGE_TYPES = {ImageType.COLLECTION_COMPLETED}
CONTRIBUTION_IMAGE_TYPES = {ImageType.CLEANING_BEFORE_AREA, ImageType.CLEANING_AFTER_AREA}


def carries_depots(report_type: str) -> bool:
    """Only collection requests carry depots; readers skip the depot tables for every other type."""
    return report_type == ReportType.COLLECTION_REQUEST


def type_problems(report_type: ReportType, content: dict[str, Any]) -> list[dict[str, str]]:
    """Checks that apply to drafts too: fields that never belong to this type."""
    problems: list[dict[str, str]] = []
    areas = content.get("areas") or []
    depots = content.get("collection_depots") or []
    if not carries_depots(report_type) and depots:
        problems.append({"field": "collection_depots", "message": "only collection requests carry depots"})
    if report_type == ReportType.COLLECTION_REQUEST and areas:
        problems.append({"field": "areas", "message": "collection requests carry depots, not areas"})
    for i, area in enumerate(areas):
        if report_type == ReportType.INVESTIGATION:
            for name in ("trash_amount_kg", "bag_count"):
                if area.get(name) is not None:
                    problems.append({"field": f"areas[{i}].{name}", "message": "investigations estimate litres"})
        if report_type == ReportType.CLEANING and area.get("trash_amount_est_l") is not None:
            problems.append({"field": f"areas[{i}].trash_amount_est_l", "message": "cleaning reports record kg"})
    if report_type != ReportType.INVESTIGATION and content.get("investigation_at") is not None:
        problems.append({"field": "investigation_at", "message": "only investigations have investigation_at"})
    if report_type == ReportType.INVESTIGATION and content.get("cleaning_at") is not None:
        problems.append({"field": "cleaning_at", "message": "investigations have no cleaning_at"})
    if report_type == ReportType.INVESTIGATION:
        for name in ("investigation_report_id", "cleaning_report_id", "team_id"):
            if content.get(name) is not None:
                problems.append({"field": name, "message": "not part of an investigation"})
    if report_type == ReportType.CLEANING and content.get("cleaning_report_id") is not None:
        problems.append({"field": "cleaning_report_id", "message": "not part of a cleaning report"})
    return problems


def submission_problems(report_type: ReportType, content: dict[str, Any]) -> list[dict[str, str]]:
    """Required on submission (07 §6); every missing field is listed."""
    problems: list[dict[str, str]] = []

    def need(field: str, value: Any) -> None:
        if value is None or value == "":
            problems.append({"field": field, "message": "required for submission"})

    need("beach_id", content.get("beach_id"))
    if report_type == ReportType.INVESTIGATION:
        need("investigation_at", content.get("investigation_at"))
    if report_type == ReportType.CLEANING:
        need("cleaning_at", content.get("cleaning_at"))
    if report_type in (ReportType.INVESTIGATION, ReportType.CLEANING):
        areas = content.get("areas") or []
        if not areas:
            problems.append({"field": "areas", "message": "at least one area is required"})
        amount = "trash_amount_est_l" if report_type == ReportType.INVESTIGATION else "trash_amount_kg"
        for i, area in enumerate(areas):
            for name in ("area_name", "start_latitude", "start_longitude", "end_latitude", "end_longitude", amount):
                need(f"areas[{i}].{name}", area.get(name))
            if report_type == ReportType.INVESTIGATION:
                need(f"areas[{i}].main_trash_type", area.get("main_trash_type"))
    if report_type == ReportType.COLLECTION_REQUEST:
        depots = content.get("collection_depots") or []
        if not depots:
            problems.append({"field": "collection_depots", "message": "at least one depot is required"})
        for i, depot in enumerate(depots):
            for name in ("name", "latitude", "longitude"):
                need(f"collection_depots[{i}].{name}", depot.get(name))
            if not depot.get("photo") and not depot.get("image_ids"):
                problems.append({"field": f"collection_depots[{i}].photo", "message": "at least one photo is required"})
    return problems
