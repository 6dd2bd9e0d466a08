"""Enumerations shared across domains (values are the wire values)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class CIEnum(StrEnum):
    """Accepts any letter case on input (07 §3); values stay UPPER_SNAKE."""

    @classmethod
    def _missing_(cls, value: Any) -> Any:
        if isinstance(value, str):
            upper = value.strip().upper()
            for member in cls:
                if member.value == upper:
                    return member
        return None


class OrgType(CIEnum):
    PLATFORM = "PLATFORM"
    CITY = "CITY"
    DISTRICT = "DISTRICT"


class Role(CIEnum):
    PLATFORM_ADMIN = "PLATFORM_ADMIN"
    CITY_ADMIN = "CITY_ADMIN"
    DISTRICT_ADMIN = "DISTRICT_ADMIN"
    INVESTIGATOR = "INVESTIGATOR"
    CLEANER = "CLEANER"
    COLLECTOR = "COLLECTOR"
    CITIZEN = "CITIZEN"

    @property
    def is_admin(self) -> bool:
        return self in ADMIN_ROLES

    @property
    def tier(self) -> int:
        """Admin tier: platform 3, city 2, district 1, workers 0."""
        return {Role.PLATFORM_ADMIN: 3, Role.CITY_ADMIN: 2, Role.DISTRICT_ADMIN: 1}.get(self, 0)


ADMIN_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.CITY_ADMIN, Role.DISTRICT_ADMIN})
WORKER_ROLES = frozenset({Role.INVESTIGATOR, Role.CLEANER, Role.COLLECTOR})
ROLE_ORG_TYPE = {
    Role.PLATFORM_ADMIN: OrgType.PLATFORM,
    Role.CITY_ADMIN: OrgType.CITY,
    Role.DISTRICT_ADMIN: OrgType.DISTRICT,
    Role.INVESTIGATOR: OrgType.DISTRICT,
    Role.CLEANER: OrgType.DISTRICT,
    Role.COLLECTOR: OrgType.DISTRICT,
    Role.CITIZEN: OrgType.DISTRICT,
}


class UserStatus(CIEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


class CleanerType(CIEnum):
    REGULAR = "REGULAR"
    VOLUNTEER = "VOLUNTEER"


class VehicleType(CIEnum):
    SMALL = "SMALL"
    LARGE = "LARGE"
    SPECIAL = "SPECIAL"


class OperatorType(CIEnum):
    COMPANY = "COMPANY"
    INDIVIDUAL = "INDIVIDUAL"


class OtpPurpose(CIEnum):
    LOGIN = "LOGIN"
    ADMIN_LOGIN = "ADMIN_LOGIN"
    SIGNUP = "SIGNUP"
    PHONE_CHANGE = "PHONE_CHANGE"


class TeamStatus(CIEnum):
    ACTIVE = "ACTIVE"
    DISBANDED = "DISBANDED"


class TeamRole(CIEnum):
    LEADER = "LEADER"
    MEMBER = "MEMBER"


class MembershipStatus(CIEnum):
    ACTIVE = "ACTIVE"
    LEFT = "LEFT"


class RequestStatus(CIEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ReportType(CIEnum):
    INVESTIGATION = "INVESTIGATION"
    CLEANING = "CLEANING"
    COLLECTION_REQUEST = "COLLECTION_REQUEST"


class ReportStatus(CIEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class LitterType(CIEnum):
    PLASTIC = "PLASTIC"
    STYROFOAM = "STYROFOAM"
    FISHING_GEAR = "FISHING_GEAR"
    GLASS = "GLASS"
    METAL = "METAL"
    WOOD = "WOOD"
    PAPER = "PAPER"
    RUBBER = "RUBBER"
    TEXTILE = "TEXTILE"
    CIGARETTE = "CIGARETTE"
    HAZARDOUS = "HAZARDOUS"
    LARGE_ITEM = "LARGE_ITEM"
    NATURAL = "NATURAL"
    MIXED = "MIXED"
    OTHER = "OTHER"


class Weather(CIEnum):
    SUNNY = "SUNNY"
    CLOUDY = "CLOUDY"
    RAIN = "RAIN"
    SNOW = "SNOW"
    FOG = "FOG"
    WINDY = "WINDY"
    STORM = "STORM"


class DisasterType(CIEnum):
    NONE = "NONE"
    TYPHOON = "TYPHOON"
    HEAVY_RAIN = "HEAVY_RAIN"
    FLOOD = "FLOOD"
    HIGH_WAVES = "HIGH_WAVES"
    EARTHQUAKE = "EARTHQUAKE"
    TSUNAMI = "TSUNAMI"
    OTHER = "OTHER"


class DepotStatus(CIEnum):
    WAITING = "WAITING"
    IN_ROUTE = "IN_ROUTE"
    COMPLETED = "COMPLETED"
    ISSUE = "ISSUE"


class ImageType(CIEnum):
    INVESTIGATION_MAIN = "INVESTIGATION_MAIN"
    INVESTIGATION_AREA = "INVESTIGATION_AREA"
    CLEANING_BEFORE_AREA = "CLEANING_BEFORE_AREA"
    CLEANING_AFTER_AREA = "CLEANING_AFTER_AREA"
    COLLECTION_DEPOT = "COLLECTION_DEPOT"
    COLLECTION_COMPLETED = "COLLECTION_COMPLETED"
