from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from beachsaver.core.enums import CleanerType, Role
from tests.factories import make_beach, make_city, make_district, make_team, make_user, token_for


@dataclass
class World:
    district: Any
    other_district: Any
    beach: Any
    other_beach: Any
    admin: Any
    other_admin: Any
    investigator: Any
    investigator2: Any
    leader: Any
    member: Any
    volunteer: Any
    solo_cleaner: Any
    collector: Any
    collector2: Any
    unverified: Any
    team: Any
    tokens: dict[str, str]

    def h(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
def world(db: Any) -> World:
    city = make_city(db)
    district = make_district(db, city, name="해운대구")
    other = make_district(db, city, name="수영구")
    beach = make_beach(db, district)
    other_beach = make_beach(db, other, name="광안리", lat="35.1531696", lng="129.1186566")
    people = {
        "admin": make_user(db, Role.DISTRICT_ADMIN, district),
        "other_admin": make_user(db, Role.DISTRICT_ADMIN, other),
        "investigator": make_user(db, Role.INVESTIGATOR, district),
        "investigator2": make_user(db, Role.INVESTIGATOR, district),
        "leader": make_user(db, Role.CLEANER, district),
        "member": make_user(db, Role.CLEANER, district),
        "volunteer": make_user(db, Role.CLEANER, district, cleaner_type=CleanerType.VOLUNTEER),
        "solo_cleaner": make_user(db, Role.CLEANER, district),
        "collector": make_user(db, Role.COLLECTOR, district, verified=True),
        "collector2": make_user(db, Role.COLLECTOR, district, verified=True),
        "unverified": make_user(db, Role.COLLECTOR, district, verified=False),
    }
    team = make_team(db, district, people["leader"], [people["member"], people["volunteer"]])
    tokens = {name: token_for(db, user) for name, user in people.items()}
    db.commit()
    return World(
        district=district,
        other_district=other,
        beach=beach,
        other_beach=other_beach,
        team=team,
        tokens=tokens,
        **people,
    )
