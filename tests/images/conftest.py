"""A small world for image tests: two districts of one city, another city, admins and workers."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from beachsaver.core.enums import Role, UserStatus
from beachsaver.images.models import Image
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization
from beachsaver.storage import Storage, get_storage
from beachsaver.users.models import User
from tests.factories import auth, make_city, make_district, make_user, token_for
from tests.images import imagegen
from tests.storage.motoserver import moto, moto_session

__all__ = ["moto", "moto_session"]


class World:
    """Organisations up front; users (admins hash a password: slow) made on first use."""

    def __init__(self, db: Session, client: TestClient, app: Any) -> None:
        self.db = db
        self.client = client
        self.app = app
        self.city = make_city(db, name="부산광역시")
        self.d1 = make_district(db, self.city, name="해운대구")
        self.d2 = make_district(db, self.city, name="수영구")
        self.other_city = make_city(db, name="울산광역시")
        self.od = make_district(db, self.other_city, name="동구")
        self.tokens: dict[int, str] = {}
        db.commit()

    def _user(self, role: Role, org: Organization, **kwargs: Any) -> User:
        user = make_user(self.db, role, org, **kwargs)
        self.tokens[user.id] = token_for(self.db, user)
        self.db.commit()
        return user

    @cached_property
    def investigator(self) -> User:
        return self._user(Role.INVESTIGATOR, self.d1)

    @cached_property
    def investigator2(self) -> User:
        return self._user(Role.INVESTIGATOR, self.d1)

    @cached_property
    def cleaner(self) -> User:
        return self._user(Role.CLEANER, self.d1)

    @cached_property
    def collector(self) -> User:
        return self._user(Role.COLLECTOR, self.d1)

    @cached_property
    def d1_admin(self) -> User:
        return self._user(Role.DISTRICT_ADMIN, self.d1)

    @cached_property
    def d2_admin(self) -> User:
        return self._user(Role.DISTRICT_ADMIN, self.d2)

    @cached_property
    def city_admin(self) -> User:
        return self._user(Role.CITY_ADMIN, self.city)

    @cached_property
    def other_city_admin(self) -> User:
        return self._user(Role.CITY_ADMIN, self.other_city)

    @cached_property
    def platform(self) -> User:
        return self._user(Role.PLATFORM_ADMIN, org_service.ensure_root(self.db))

    @cached_property
    def pending(self) -> User:
        return self._user(Role.CITIZEN, self.d1, status=UserStatus.PENDING_APPROVAL)

    def headers(self, user: User) -> dict[str, str]:
        # The identity, not user.id: reading an expired attribute would open a transaction on
        # self.db, and on SQLite that holds the write lock while the API waits for it.
        return auth(self.tokens[sa_inspect(user).identity[0]])

    @property
    def storage(self) -> Storage:
        return get_storage(self.app.state.settings)

    def upload(
        self,
        user: User,
        data: bytes | None = None,
        *,
        type: str = "INVESTIGATION_MAIN",
        filename: str = "photo.jpg",
        content_type: str = "image/jpeg",
    ) -> httpx.Response:
        payload = imagegen.jpeg(size=(64, 48)) if data is None else data
        return self.client.post(
            "/api/images",
            headers=self.headers(user),
            files={"file": (filename, payload, content_type)},
            data={"type": type},
        )

    def upload_ok(self, user: User, data: bytes | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.upload(user, data, **kwargs)
        assert response.status_code == 201, response.text
        image: dict[str, Any] = response.json()["data"]
        return image

    def image_count(self) -> int:
        count = int(self.db.execute(select(func.count()).select_from(Image)).scalar_one())
        self.db.commit()  # end the read: on SQLite every transaction holds the write lock
        return count

    def row(self, image_id: int) -> Image:
        """The stored row, fresh (the read transaction is ended so that the API can write)."""
        image = self.db.execute(
            select(Image).where(Image.id == image_id).execution_options(populate_existing=True)
        ).scalar_one()
        self.db.commit()
        return image

    def image_keys(self) -> list[str]:
        return self.storage.list_keys("images/")


@pytest.fixture
def world(db: Session, client: TestClient, app: Any) -> World:
    return World(db, client, app)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["success"] is False
    assert body["data"] is None
    error: dict[str, Any] = body["error"]
    return error


def fields_of(response: httpx.Response) -> list[str]:
    return [d["field"] for d in error_of(response).get("details") or []]
