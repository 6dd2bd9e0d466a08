"""One report's detail costs a bounded number of statements, whatever it holds (04 §2), and the
request's account comes with its profiles in the statement that checks its session."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import make_image
from tests.statements import counting

from .conftest import World
from .test_depots import collection_request
from .test_reports import cleaning, investigation

PROFILE_TABLES = re.compile(r"\bFROM\s+`?(admin_profiles|worker_profiles|vehicle_profiles)\b", re.IGNORECASE)

#: at most: the session with its account, profiles and organisation; the team memberships; the
#: report; its areas, images, depots, depot images, contributions, contribution images, credits,
#: co-workers, the image records and the links (a part with no rows skips its children's look-up)
DETAIL_STATEMENTS_AT_MOST = 13


def _team_cleaning(client: TestClient, world: World, db: Any, areas: int, contributors: list[str]) -> int:
    area = cleaning(world)["areas"][0]
    body = cleaning(world, areas=[{**area, "area_name": f"구역{i}"} for i in range(areas)])
    r = client.post("/api/reports", json=body, headers=world.h("leader"))
    assert r.status_code == 201, r.text
    report_id: int = r.json()["data"]["id"]
    for who in contributors:
        photo = make_image(db, getattr(world, who), "CLEANING_AFTER_AREA")
        db.commit()
        c = client.post(
            f"/api/reports/{report_id}/contributions",
            json={"note": who, "image_ids": [photo.id], "bags": 2, "kg": 3},
            headers=world.h(who),
        )
        assert c.status_code == 201, c.text
    done = client.patch(f"/api/reports/{report_id}", json={"status": "SUBMITTED"}, headers=world.h("leader"))
    assert done.status_code == 200, done.text
    return report_id


def _detail(client: TestClient, world: World, report_id: int) -> tuple[dict[str, Any], list[str]]:
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with counting(engine) as statements:
        r = client.get(f"/api/reports/{report_id}", headers=world.h("leader"))
    assert r.status_code == 200, r.text
    return r.json()["data"], statements


def test_detail_statements_do_not_grow_with_the_report(client: TestClient, world: World, db: Any) -> None:
    small_doc, small = _detail(client, world, _team_cleaning(client, world, db, 1, ["member"]))
    rich_doc, rich = _detail(client, world, _team_cleaning(client, world, db, 4, ["member", "volunteer"]))
    assert (len(small_doc["areas"]), len(small_doc["contributions"])) == (1, 1)
    assert (len(rich_doc["areas"]), len(rich_doc["contributions"]), len(rich_doc["credits"])) == (4, 2, 3)
    assert [a["area_name"] for a in rich_doc["areas"]] == ["구역0", "구역1", "구역2", "구역3"]
    assert len(rich) == len(small) <= DETAIL_STATEMENTS_AT_MOST, rich
    assert not [s for s in rich + small if PROFILE_TABLES.search(s)]


def test_a_page_of_reports_has_each_ones_areas_in_order(client: TestClient, world: World, db: Any) -> None:
    """A page reads every report's areas in one statement, each report's in its own order."""
    ids = [_team_cleaning(client, world, db, n, []) for n in (3, 1, 2)]
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with counting(engine) as statements:
        r = client.get("/api/reports", params={"type": "CLEANING"}, headers=world.h("leader"))
    assert r.status_code == 200, r.text
    names = {doc["id"]: [a["area_name"] for a in doc["areas"]] for doc in r.json()["data"]}
    assert [names[i] for i in ids] == [["구역0", "구역1", "구역2"], ["구역0"], ["구역0", "구역1"]]
    assert len([s for s in statements if "FROM report_areas" in s]) == 1, statements


def test_principal_profiles_come_with_the_session(client: TestClient, world: World) -> None:
    """An admin's password age is checked on its profile, loaded with the session: one statement."""
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with counting(engine) as statements:
        r = client.get("/api/users/me", headers=world.h("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["id"] == world.admin.id
    assert not [s for s in statements if PROFILE_TABLES.search(s)], statements


def test_a_report_reads_only_the_parts_its_type_can_have(client: TestClient, world: World, db: Any) -> None:
    """Depots belong to collection requests, contributions and credits to cleaning reports, and
    follow-up reports to investigations and cleaning reports: no look-up for the others."""
    r = client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("investigator"))
    assert r.status_code == 201, r.text
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with counting(engine) as statements:
        detail = client.get(f"/api/reports/{r.json()['data']['id']}", headers=world.h("investigator"))
    assert detail.status_code == 200, detail.text
    data = detail.json()["data"]
    assert (data["collection_depots"], data["contributions"], data["credits"]) == ([], [], [])
    read = " ".join(statements)
    for table in ("collection_depots", "contributions", "credits"):
        assert f"FROM {table}" not in read and f"FROM `{table}`" not in read, table
    assert "investigation_report_id" in read  # its cleaning follow-up is looked for

    request = collection_request(world, db)
    r = client.post("/api/reports", json=request, headers=world.h("solo_cleaner"))
    assert r.status_code == 201, r.text
    with counting(engine) as statements:
        detail = client.get(f"/api/reports/{r.json()['data']['id']}", headers=world.h("solo_cleaner"))
    assert detail.status_code == 200, detail.text
    assert len(detail.json()["data"]["collection_depots"]) == 3
    read = " ".join(statements)
    assert "FROM collection_depots" in read
    for table in ("contributions", "credits"):
        assert f"FROM {table}" not in read, table
    assert "investigation_report_id IN" not in read
