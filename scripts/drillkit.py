"""Shared pieces of the API drills (``fuzz.py``, ``soak.py``): a throwaway service on loopback,
signed-in demo accounts, and a little field data made through the API.

The service runs as a subprocess (``beachsaver serve``) on a free 127.0.0.1 port with its own
data directory (SQLite, local files, dev outbox). Nothing here talks to any other address.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BEACHSAVER = str(BIN / "beachsaver")
DEMO_PASSWORD = "BeachSaver!2026"  # beachsaver.demo.seed.DEMO_PASSWORD

#: The demo account signed in for each role (src/beachsaver/demo/seed.py).
ROLE_PHONES: dict[str, tuple[str, str]] = {
    "platform": ("01000000001", "PLATFORM_ADMIN"),
    "city": ("01000000002", "CITY_ADMIN"),
    "district": ("01000000003", "DISTRICT_ADMIN"),
    "investigator": ("01000001001", "INVESTIGATOR"),
    "cleaner": ("01000001002", "CLEANER"),  # leader of 해운대 1팀
    "collector": ("01000001006", "COLLECTOR"),  # verified vehicle
    "citizen": ("01000001008", "CITIZEN"),  # approved by ``prime``
}
ADMIN_ROLES = {"platform", "city", "district"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a throwaway dev instance: SQLite and files under ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHSAVER_")}
    env.update(
        {
            "BEACHSAVER_ENV": "dev",
            "BEACHSAVER_DATA_DIR": str(data_dir),
            "BEACHSAVER_WORKER_IN_PROCESS": "true",  # deliveries flow as in a real instance
            "BEACHSAVER_OTP_MIN_INTERVAL_S": "0",  # drills sign the same account in more than once
            "BEACHSAVER_OTP_MAX_SENDS": "1000",
            "BEACHSAVER_LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


def prepare_data_dir(data_dir: Path) -> None:
    """Migrate and load the Busan demo data into a new data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = service_env(data_dir)
    for args in (["migrate"], ["seed-demo"]):
        subprocess.run([BEACHSAVER, *args], env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def copy_data_dir(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def running_service(data_dir: Path, *, log_path: Path, env: dict[str, str] | None = None) -> Iterator[Service]:
    """``beachsaver serve`` on a free loopback port until the block ends (SIGTERM, then SIGKILL)."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [BEACHSAVER, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env or service_env(data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    service = Service(process=process, base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        wait_ready(service)
        yield service
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_ready(service: Service, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"the service exited ({service.process.returncode}):\n{service.log_tail()}")
        try:
            if httpx.get(f"{service.base_url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the service was not ready within {timeout_s:.0f} s:\n{service.log_tail()}")


# ---- signing in through the real flows ---------------------------------------------------------


def _data(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response.json()["data"]


def latest_code(client: httpx.Client, phone: str) -> str:
    messages = _data(client.get("/api/dev/messages", params={"phone": phone, "size": 5}))
    codes = [m["code"] for m in messages if m["code"]]
    if not codes:
        raise RuntimeError(f"no code in the dev outbox for {phone}")
    return str(codes[0])


def sign_in(client: httpx.Client, role: str) -> str:
    """An access token for the demo account of ``role``: password + code for admins, phone +
    code (+ account choice) for the others. A new sign-in ends the account's older sessions."""
    phone, role_name = ROLE_PHONES[role]
    if role in ADMIN_ROLES:
        challenge = _data(client.post("/api/auth/admin/login", json={"login_id": phone, "password": DEMO_PASSWORD}))
        code = latest_code(client, phone)
        tokens = _data(
            client.post("/api/auth/admin/verify", json={"challenge_id": challenge["challenge_id"], "code": code})
        )
        return str(tokens["access_token"])
    _data(client.post("/api/auth/login", json={"phone": phone}))
    tokens = _data(client.post("/api/auth/verify", json={"phone": phone, "code": latest_code(client, phone)}))
    if "accounts" in tokens:
        user_id = next(a["user_id"] for a in tokens["accounts"] if a["role"] == role_name)
        tokens = _data(
            client.post("/api/auth/select", json={"selection_token": tokens["selection_token"], "user_id": user_id})
        )
    return str(tokens["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- field data -------------------------------------------------------------------------------


def jpeg_bytes(seed: int = 0) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (64, 48), ((seed * 37) % 256, (seed * 91) % 256, 160))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def upload_image(client: httpx.Client, token: str, image_type: str, seed: int = 0) -> int:
    response = client.post(
        "/api/images",
        headers=bearer(token),
        files={"file": ("photo.jpg", jpeg_bytes(seed), "image/jpeg")},
        data={"type": image_type},
    )
    return int(_data(response)["id"])


def instant(minutes_ago: int = 30) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def first_beach(client: httpx.Client, token: str) -> dict[str, Any]:
    beaches = _data(client.get("/api/beaches", headers=bearer(token), params={"size": 1}))
    return dict(beaches[0])


def area(lat: float, lng: float, **extra: Any) -> dict[str, Any]:
    return {
        "area_name": "A구역",
        "start_latitude": round(lat, 6),
        "start_longitude": round(lng, 6),
        "end_latitude": round(lat + 0.0008, 6),
        "end_longitude": round(lng + 0.0015, 6),
        "main_trash_type": "PLASTIC",
        **extra,
    }


def submit_investigation(client: httpx.Client, token: str, beach: dict[str, Any]) -> dict[str, Any]:
    lat, lng = float(beach["latitude"]), float(beach["longitude"])
    body = {
        "client_id": str(uuid.uuid4()),
        "type": "INVESTIGATION",
        "beach_id": beach["id"],
        "investigation_at": instant(),
        "weather": "SUNNY",
        "confirm_duplicate": True,
        "areas": [area(lat, lng, trash_amount_est_l=120.5)],
    }
    return dict(_data(client.post("/api/reports", headers=bearer(token), json=body)))


def submit_collection_request(
    client: httpx.Client, token: str, beach: dict[str, Any], depots: int = 2, seed: int = 0
) -> dict[str, Any]:
    lat, lng = float(beach["latitude"]), float(beach["longitude"])
    body = {
        "client_id": str(uuid.uuid4()),
        "type": "COLLECTION_REQUEST",
        "beach_id": beach["id"],
        "confirm_duplicate": True,
        "collection_depots": [
            {
                "name": f"집하장 {i + 1}",
                "latitude": round(lat + 0.001 * i, 6),
                "longitude": round(lng + 0.001 * i, 6),
                "photo": upload_image(client, token, "COLLECTION_DEPOT", seed + i),
                "estimated_kg": 20,
            }
            for i in range(depots)
        ],
    }
    return dict(_data(client.post("/api/reports", headers=bearer(token), json=body)))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def import_workbook() -> bytes:
    """An account import file with one new cleaner for 해운대구 (the template's headers)."""
    from openpyxl import Workbook

    from beachsaver.imports.excel import HEADERS

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(HEADERS))
    row = {"role": "CLEANER", "org_code": "BSJ001-HAEUN", "nickname": "새청소", "phone": "01077770001"}
    sheet.append([row.get(h) for h in HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def prime(base_url: str) -> dict[str, Any]:
    """Objects for the fuzzer to find: reports, depots, images, a job, a report schedule, an import
    job, an incident, notifications and an approved citizen. Returns what was made (ids)."""
    made: dict[str, Any] = {}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        tokens = {role: sign_in(client, role) for role in ("platform", "district", "investigator", "cleaner")}
        citizen = _data(
            client.get("/api/users", headers=bearer(tokens["district"]), params={"role": "CITIZEN", "size": 10})
        )
        for user in citizen:
            if user["status"] == "PENDING_APPROVAL":
                _data(client.post(f"/api/users/{user['id']}/approve", headers=bearer(tokens["platform"])))
        beach = first_beach(client, tokens["investigator"])
        made["beach_id"] = beach["id"]
        made["investigation_id"] = submit_investigation(client, tokens["investigator"], beach)["id"]
        request = submit_collection_request(client, tokens["cleaner"], beach)
        made["collection_request_id"] = request["id"]
        made["depot_ids"] = [d["id"] for d in request["collection_depots"]]
        made["image_id"] = upload_image(client, tokens["investigator"], "INVESTIGATION_MAIN", 9)
        today = datetime.now(UTC).astimezone(timezone(timedelta(hours=9))).date().isoformat()
        made["job_id"] = _data(
            client.post(
                "/api/jobs",
                headers=bearer(tokens["district"]),
                json={"type": "INVESTIGATION", "beach_id": beach["id"], "date": today, "headcount": 2},
            )
        )["id"]
        made["schedule_id"] = _data(
            client.post(
                "/api/statistics/report-schedules",
                headers=bearer(tokens["district"]),
                json={"frequency": "WEEKLY", "recipients": ["ops@beachsaver.example"]},
            )
        )["id"]
        made["import_job_id"] = _data(
            client.post(
                "/api/users/import",
                headers=bearer(tokens["district"]),
                files={"file": ("accounts.xlsx", import_workbook(), XLSX)},
                data={"dry_run": "true"},
            )
        )["id"]
        made["incident_id"] = _data(
            client.post(
                "/api/ops/incidents",
                headers=bearer(tokens["platform"]),
                json={"title": "점검 훈련", "severity": "LOW", "symptoms": "fuzz drill"},
            )
        )["id"]
    return made
