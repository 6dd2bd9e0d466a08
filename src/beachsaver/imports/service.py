"""Bulk account import (07 §10): validate the whole sheet first, then write everything or nothing.

Validation is done in memory with a handful of bulk look-ups (organisations in scope, live
accounts on the file's phones), never a query per row; the write inserts the system-id serials,
the accounts and their profiles in batches inside one savepoint of the request's transaction.
The ImportJob is recorded whatever the outcome: a FAILED job is committed without any account.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from beachsaver.audit import service as audit
from beachsaver.core import errors
from beachsaver.core.db import after_commit
from beachsaver.core.deps import Principal
from beachsaver.core.enums import CleanerType, OperatorType, OrgType, Role, UserStatus
from beachsaver.core.http import validation_details
from beachsaver.core.metrics import IMPORTS
from beachsaver.core.phone import mask_phone, normalise_phone
from beachsaver.core.runtime import cipher_of, settings_of
from beachsaver.core.time import SEOUL, seoul_today, to_utc, utcnow
from beachsaver.imports import excel
from beachsaver.imports.models import ImportJob
from beachsaver.imports.schemas import ImportRow, ImportStatus, RowStatus
from beachsaver.orgs.models import Organization
from beachsaver.users import service as user_service
from beachsaver.users.models import SystemIdSerial, User, VehicleProfile, WorkerProfile

log = logging.getLogger("beachsaver.imports")

IMPORTABLE_ROLES = (Role.INVESTIGATOR, Role.CLEANER, Role.COLLECTOR)
VEHICLE_COLUMNS = ("vehicle_type", "capacity_t", "plate_no", "operator_type", "company_name", "business_no")
VEHICLE_REQUIRED = ("vehicle_type", "capacity_t", "plate_no", "operator_type")
DATE_COLUMNS = ("birth", "start_date", "end_date")
#: Errors kept on the job and answered (``error_count`` counts them all).
MAX_ERRORS_KEPT = 10_000
LOOKUP_CHUNK = 500
INSERT_CHUNK = 500
COLUMN_ORDER = {name: index for index, name in enumerate(excel.HEADERS)}

# ---- messages (Korean default, English) ----------------------------------------------------------

MESSAGES: dict[str, dict[str, str]] = {
    "file_empty": {"ko": "빈 파일입니다.", "en": "The file is empty."},
    "file_old_excel": {
        "ko": "예전 Excel(.xls) 형식입니다. .xlsx로 저장해 다시 올려 주세요.",
        "en": "This is an old Excel (.xls) file; save it as .xlsx and upload it again.",
    },
    "file_not_xlsx": {
        "ko": "Excel(.xlsx) 파일이 아니거나 읽을 수 없는 파일입니다.",
        "en": "The file is not a readable Excel (.xlsx) workbook.",
    },
    "file_too_large_unpacked": {
        "ko": "압축을 풀면 너무 큰 파일입니다.",
        "en": "The file is too large once unpacked.",
    },
    "file_no_sheet": {"ko": "시트가 없는 파일입니다.", "en": "The workbook has no worksheet."},
    "file_headers": {
        "ko": "첫 시트의 머리글이 양식과 다릅니다. 필요한 머리글: {expected} / 없는 열: {missing} / "
        "알 수 없는 열: {unexpected}",
        "en": "The first sheet's headers do not match the template. Expected: {expected}; "
        "missing: {missing}; unexpected: {unexpected}",
    },
    "file_headers_order": {
        "ko": "첫 시트의 머리글 순서가 양식과 다릅니다. 순서: {expected}",
        "en": "The first sheet's headers are not in the template's order: {expected}",
    },
    "file_too_many_rows": {
        "ko": "행이 너무 많습니다 (최대 {max}행).",
        "en": "The file has too many rows (at most {max} data rows).",
    },
    "formula": {
        "ko": "수식은 사용할 수 없습니다. 값을 입력해 주세요.",
        "en": "Formulas are not allowed; enter a value.",
    },
    "error_cell": {"ko": "오류 값(#...)이 들어 있습니다.", "en": "The cell holds an error value (#...)."},
    "required": {"ko": "필수 항목입니다.", "en": "This field is required."},
    "role_not_importable": {
        "ko": "가져올 수 있는 역할은 INVESTIGATOR, CLEANER, COLLECTOR입니다.",
        "en": "Only INVESTIGATOR, CLEANER and COLLECTOR accounts can be imported.",
    },
    "unknown_org_code": {
        "ko": "관리 범위에 이 코드의 조직이 없습니다.",
        "en": "No organisation with this code in your scope.",
    },
    "org_not_district": {
        "ko": "작업자는 구·군(DISTRICT) 조직에 속해야 합니다.",
        "en": "Workers belong to a district organisation.",
    },
    "invalid_phone": {
        "ko": "휴대전화 번호가 아닙니다 (01X, 10~11자리).",
        "en": "Not a Korean mobile number (01X, 10–11 digits).",
    },
    "duplicate_in_file": {
        "ko": "{row}행과 전화번호·역할이 같습니다.",
        "en": "Same phone and role as row {row}.",
    },
    "phone_role_taken": {
        "ko": "이 전화번호로 같은 역할의 다른 계정이 이미 있습니다.",
        "en": "This phone already has a different account with this role.",
    },
    "volunteer_not_importable": {
        "ko": "자원봉사자는 직접 가입합니다.",
        "en": "Volunteers sign up themselves.",
    },
    "only_cleaners": {"ko": "청소자만 청소자 유형이 있습니다.", "en": "Only cleaners have a cleaner type."},
    "only_collectors": {"ko": "수거자만 차량 정보가 있습니다.", "en": "Only collectors have a vehicle."},
    "company_name_required": {
        "ko": "업체 운영자는 업체명이 필요합니다.",
        "en": "Required for company operators.",
    },
    "end_before_start": {"ko": "종료일이 시작일보다 빠릅니다.", "en": "The end date is before the start date."},
    "birth_in_future": {"ko": "생년월일이 미래입니다.", "en": "The birth date is in the future."},
    "import_busy": {
        "ko": "다른 가져오기를 저장하는 중입니다. 잠시 후 다시 시도해 주세요.",
        "en": "Another import is being written; try again in a moment.",
    },
    "concurrent_change": {
        "ko": "가져오는 동안 다른 곳에서 계정이 바뀌었습니다. 다시 시도해 주세요.",
        "en": "Accounts changed elsewhere during the import; try again.",
    },
}


def msg(key: str, lang: str, **params: Any) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["ko"]
    return text.format(**params) if params else text


# ---- cell conversion ----------------------------------------------------------------------------


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def _phone_text(value: Any) -> str:
    """Numbers typed into a General cell lose their leading 0 (1012345678 → 01012345678)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = str(int(value)) if float(value).is_integer() else repr(value)
        return "0" + digits if digits.startswith("1") and len(digits) in (9, 10) else digits
    return str(value)


class _NotADate(ValueError):
    pass


def _as_date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip().rstrip(".").replace(".", "-").replace("/", "-")
        parts = text.split("-")
        if len(parts) == 3 and all(p.strip().isdigit() for p in parts):
            return "-".join([parts[0].strip(), parts[1].strip().zfill(2), parts[2].strip().zfill(2)])
        return text
    raise _NotADate()


def _as_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return str(value)
    return value if isinstance(value, str) else str(value)


# ---- validation ---------------------------------------------------------------------------------


@dataclass
class Problem:
    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Candidate:
    """A row that passed every check of its own."""

    row: int
    role: Role
    org: Organization
    phone: str
    phone_hash: str
    typed: ImportRow
    status: RowStatus = RowStatus.VALID
    user_id: int | None = None
    system_id: str | None = None


@dataclass
class Outcome:
    total_rows: int = 0
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    invalid_rows: set[int] = field(default_factory=set)
    row_numbers: list[int] = field(default_factory=list)


@dataclass
class Scope:
    districts: dict[str, Organization]
    others: set[str]


def _scope_orgs(db: Session, scope_ids: list[int], codes: set[str]) -> Scope:
    districts: dict[str, Organization] = {}
    others: set[str] = set()
    wanted = sorted(codes)
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        rows = db.execute(
            select(Organization).where(Organization.code.in_(chunk), Organization.id.in_(scope_ids))
        ).scalars()
        for org in rows:
            if OrgType(org.type) == OrgType.DISTRICT:
                districts[org.code] = org
            else:
                others.add(org.code)
    return Scope(districts=districts, others=others)


def _live_accounts(db: Session, hashes: Sequence[str]) -> dict[tuple[str, str], tuple[int, int, str, str]]:
    """(phone hash, role) → (user id, org id, nickname, system id) of the live accounts."""
    found: dict[tuple[str, str], tuple[int, int, str, str]] = {}
    unique = sorted(set(hashes))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        rows = db.execute(
            select(User.id, User.phone_hash, User.role, User.org_id, User.nickname, User.system_id).where(
                User.phone_hash.in_(chunk), User.live.is_(True)
            )
        ).all()
        for user_id, phone_hash, role, org_id, nickname, system_id in rows:
            found[(phone_hash, role)] = (user_id, org_id, nickname, system_id)
    return found


def _typed_input(values: dict[str, Any], lang: str, row: int) -> tuple[dict[str, Any], list[Problem]]:
    prepared: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in ImportRow.model_fields:
        if name not in values:
            continue
        value = values[name]
        if name in DATE_COLUMNS:
            try:
                prepared[name] = _as_date(value)
            except _NotADate:
                problems.append(Problem(row, name, validation_message("invalid_date", lang)))
        elif name == "capacity_t":
            prepared[name] = _as_decimal(value)
        else:
            prepared[name] = _as_text(value)
    return prepared, problems


def validation_message(key: str, lang: str) -> str:
    from beachsaver.core.i18n import translate

    return translate(key, lang)


def _check_row(
    sheet_row: excel.SheetRow, scope: Scope, lang: str, today: date
) -> tuple[Candidate | None, list[Problem], dict[str, Any]]:
    """Every problem of one row on its own; the candidate when there is none."""
    n = sheet_row.row
    raw = sheet_row.values
    problems = [Problem(n, c, msg("formula", lang)) for c in sheet_row.formulas]
    problems += [Problem(n, c, msg("error_cell", lang)) for c in sheet_row.error_cells]
    blocked = set(sheet_row.formulas) | set(sheet_row.error_cells)

    def required(column: str) -> bool:
        if raw.get(column) is None and column not in blocked:
            problems.append(Problem(n, column, msg("required", lang)))
            return False
        return column not in blocked

    role: Role | None = None
    if required("role"):
        try:
            role = Role(_as_text(raw["role"]))
        except ValueError:
            role = None
        if role not in IMPORTABLE_ROLES:
            problems.append(Problem(n, "role", msg("role_not_importable", lang)))
            role = None
    org: Organization | None = None
    if required("org_code"):
        code = _as_text(raw["org_code"]).upper()
        org = scope.districts.get(code)
        if org is None:
            key = "org_not_district" if code in scope.others else "unknown_org_code"
            problems.append(Problem(n, "org_code", msg(key, lang)))
    phone: str | None = None
    if required("phone"):
        phone = normalise_phone(_phone_text(raw["phone"]))
        if phone is None:
            problems.append(Problem(n, "phone", msg("invalid_phone", lang)))

    prepared, conversion_problems = _typed_input(raw, lang, n)
    problems += conversion_problems
    typed: ImportRow | None = None
    if "nickname" in blocked:
        prepared.setdefault("nickname", "--")  # reported as a formula already
    try:
        typed = ImportRow.model_validate(prepared)
    except ValidationError as exc:
        skip = blocked | {p.column for p in conversion_problems}
        errs = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors() if e["loc"] and e["loc"][0] not in skip]
        for detail in validation_details(errs, lang):
            problems.append(Problem(n, detail["field"], detail["message"]))

    if role is not None:
        cleaner = typed.cleaner_type if typed else None
        if role == Role.CLEANER:
            if cleaner == CleanerType.VOLUNTEER:
                problems.append(Problem(n, "cleaner_type", msg("volunteer_not_importable", lang)))
        elif raw.get("cleaner_type") is not None:
            problems.append(Problem(n, "cleaner_type", msg("only_cleaners", lang)))
        if role == Role.COLLECTOR:
            for column in VEHICLE_REQUIRED:
                required(column)
            operator = typed.operator_type if typed else None
            if operator == OperatorType.COMPANY and raw.get("company_name") is None and "company_name" not in blocked:
                problems.append(Problem(n, "company_name", msg("company_name_required", lang)))
        else:
            for column in VEHICLE_COLUMNS:
                if raw.get(column) is not None:
                    problems.append(Problem(n, column, msg("only_collectors", lang)))
    if typed is not None:
        if typed.start_date and typed.end_date and typed.end_date < typed.start_date:
            problems.append(Problem(n, "end_date", msg("end_before_start", lang)))
        if typed.birth and typed.birth > today:
            problems.append(Problem(n, "birth", msg("birth_in_future", lang)))

    if problems or role is None or org is None or phone is None or typed is None:
        return None, problems, raw
    return Candidate(row=n, role=role, org=org, phone=phone, phone_hash="", typed=typed), [], raw


def validate(db: Session, principal: Principal, rows: list[excel.SheetRow], lang: str) -> Outcome:
    outcome = Outcome(total_rows=len(rows), row_numbers=[r.row for r in rows])
    codes = {_as_text(r.values["org_code"]).upper() for r in rows if r.values.get("org_code") is not None}
    scope = _scope_orgs(db, principal.scope_org_ids(db), codes)
    today = seoul_today()
    cipher = cipher_of(db)
    seen: dict[tuple[str, Role], int] = {}
    for sheet_row in rows:
        candidate, problems, raw = _check_row(sheet_row, scope, lang, today)
        # in-file duplicates are found even on rows with other problems
        phone = candidate.phone if candidate else _loose_phone(raw)
        role = candidate.role if candidate else _loose_role(raw)
        if phone is not None and role is not None:
            first = seen.setdefault((phone, role), sheet_row.row)
            if first != sheet_row.row:
                problems.append(Problem(sheet_row.row, "phone", msg("duplicate_in_file", lang, row=first)))
                candidate = None
        if candidate is not None and not problems:
            candidate.phone_hash = cipher.lookup_hash(candidate.phone)
            outcome.candidates.append(candidate)
        else:
            outcome.invalid_rows.add(sheet_row.row)
            outcome.problems.extend(problems)
    clash_problems = _match_existing(db, outcome.candidates, lang)
    if clash_problems:
        clashing = {p.row for p in clash_problems}
        outcome.candidates = [c for c in outcome.candidates if c.row not in clashing]
        outcome.invalid_rows |= {r for r in clashing if r is not None}
        outcome.problems.extend(clash_problems)
    return outcome


def _loose_phone(raw: dict[str, Any]) -> str | None:
    value = raw.get("phone")
    return normalise_phone(_phone_text(value)) if value is not None else None


def _loose_role(raw: dict[str, Any]) -> Role | None:
    value = raw.get("role")
    try:
        return Role(_as_text(value)) if value is not None else None
    except ValueError:
        return None


def _match_existing(db: Session, candidates: list[Candidate], lang: str) -> list[Problem]:
    """Mark rows equal to a live account (same phone, role, organisation, nickname) EXISTING;
    a row whose phone and role belong to a different account is a problem."""
    live = _live_accounts(db, [c.phone_hash for c in candidates])
    problems: list[Problem] = []
    for candidate in candidates:
        match = live.get((candidate.phone_hash, candidate.role.value))
        if match is None:
            candidate.status = RowStatus.VALID
            continue
        user_id, org_id, nickname, system_id = match
        if org_id == candidate.org.id and nickname == candidate.typed.nickname:
            candidate.status = RowStatus.EXISTING
            candidate.user_id, candidate.system_id = user_id, system_id
        else:
            problems.append(Problem(candidate.row, "phone", msg("phone_role_taken", lang)))
    return problems


# ---- writing ------------------------------------------------------------------------------------


def _system_id(org: Organization, nickname: str, role: Role, serial: int) -> str:
    return f"{org.code}_{nickname.replace('_', '-')}_{user_service.ROLE_TOKEN[role]}_{serial:04d}"


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert_returning(db: Session, model: Any, rows: list[dict[str, Any]], *columns: Any) -> list[Any]:
    """Multi-row ``INSERT … VALUES (…), (…) RETURNING`` in chunks: one statement per chunk on
    SQLite and MariaDB alike (an executemany with RETURNING is row by row on MariaDB)."""
    found: list[Any] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        found.extend(db.execute(insert(model).values(chunk).returning(*columns)).all())
    return found


def _write(db: Session, principal: Principal, job: ImportJob, candidates: list[Candidate]) -> int:
    """Insert the new accounts with their profiles in bulk (RETURNING gives the ids back)."""
    fresh = [c for c in candidates if c.status == RowStatus.VALID]
    if not fresh:
        return 0
    cipher = cipher_of(db)
    now = utcnow()
    serials = sorted(
        row[0] for row in _insert_returning(db, SystemIdSerial, [{"created_at": now} for _ in fresh], SystemIdSerial.id)
    )
    values: list[dict[str, Any]] = []
    for candidate, serial in zip(fresh, serials, strict=True):
        t = candidate.typed
        values.append(
            {
                "system_id": _system_id(candidate.org, t.nickname, candidate.role, serial),
                "nickname": t.nickname,
                "role": candidate.role.value,
                "org_id": candidate.org.id,
                "status": UserStatus.ACTIVE.value,
                "status_reason": None,
                "cleaner_type": CleanerType.REGULAR.value if candidate.role == Role.CLEANER else None,
                "email": str(t.email) if t.email else None,
                "phone_enc": cipher.encrypt(candidate.phone),
                "phone_hash": candidate.phone_hash,
                "phone_last4": candidate.phone[-4:],
                "real_name_enc": cipher.encrypt(t.real_name) if t.real_name else None,
                "live": True,
                "preferences": {},
                "created_by_id": principal.id,
                "created_at": now,
                "updated_at": now,
            }
        )
    connection = db.connection()
    connection.execute(insert(_table(User)), values)  # a plain executemany: batched by the driver
    ids: dict[str, int] = {}
    system_ids = [row["system_id"] for row in values]
    for start in range(0, len(system_ids), LOOKUP_CHUNK):
        chunk = system_ids[start : start + LOOKUP_CHUNK]
        ids.update(
            (sid, uid) for uid, sid in db.execute(select(User.id, User.system_id).where(User.system_id.in_(chunk)))
        )
    workers: list[dict[str, Any]] = []
    vehicles: list[dict[str, Any]] = []
    for candidate, row in zip(fresh, values, strict=True):
        t = candidate.typed
        user_id = ids[row["system_id"]]
        candidate.status = RowStatus.CREATED
        candidate.user_id, candidate.system_id = user_id, row["system_id"]
        workers.append({"user_id": user_id, "birth": t.birth, "start_date": t.start_date, "end_date": t.end_date})
        if candidate.role == Role.COLLECTOR:
            vehicles.append(  # imported collectors are unverified
                {
                    "user_id": user_id,
                    "type": t.vehicle_type.value if t.vehicle_type else None,
                    "capacity_t": t.capacity_t,
                    "plate_no": t.plate_no,
                    "operator_type": t.operator_type.value if t.operator_type else None,
                    "company_name": t.company_name,
                    "business_no": t.business_no,
                    "verified_at": None,
                    "verified_by": None,
                }
            )
        audit.record(
            db,
            "USER_CREATE",
            actor_id=principal.id,
            target_type="USER",
            target_id=user_id,
            org_id=row["org_id"],
            after={
                "system_id": row["system_id"],
                "nickname": row["nickname"],
                "role": row["role"],
                "org_id": row["org_id"],
                "status": row["status"],
                "cleaner_type": row["cleaner_type"],
                "phone": row["phone_last4"],
                "email": row["email"],
                "import_job_id": job.id,
            },
        )
    connection.execute(insert(_table(WorkerProfile)), workers)
    if vehicles:
        connection.execute(insert(_table(VehicleProfile)), vehicles)
    return len(fresh)


def _results(outcome: Outcome) -> list[dict[str, Any]]:
    by_row = {c.row: c for c in outcome.candidates}
    results: list[dict[str, Any]] = []
    for row in outcome.row_numbers:
        candidate = by_row.get(row)
        if candidate is None:
            results.append({"row": row, "status": RowStatus.INVALID.value, "user_id": None, "system_id": None})
        else:
            status = candidate.status
            if status == RowStatus.VALID and row in outcome.invalid_rows:
                status = RowStatus.INVALID
            results.append(
                {"row": row, "status": status.value, "user_id": candidate.user_id, "system_id": candidate.system_id}
            )
    return results


def _sorted_problems(problems: list[Problem]) -> list[dict[str, Any]]:
    ordered = sorted(problems, key=lambda p: (p.row if p.row is not None else 0, COLUMN_ORDER.get(p.column or "", -1)))
    return [p.as_dict() for p in ordered[:MAX_ERRORS_KEPT]]


def file_problem(exc: excel.FileProblem, lang: str) -> errors.ValidationFailed:
    return errors.ValidationFailed.field("file", msg(exc.key, lang, **exc.params))


WRITE_ATTEMPTS = 2
#: MariaDB/MySQL: imports write one at a time (two multi-row INSERTs of the same phones would
#: deadlock on the unique index's gap locks instead of one of them meeting a clean duplicate).
WRITE_LOCK = "beachsaver.import.write"
WRITE_LOCK_WAIT_S = 60


@contextmanager
def _write_lock(db: Session, lang: str) -> Iterator[None]:
    if db.get_bind().dialect.name != "mysql":
        yield  # SQLite: writers are already serialised by BEGIN IMMEDIATE
        return
    got = db.execute(text("SELECT GET_LOCK(:name, :wait)"), {"name": WRITE_LOCK, "wait": WRITE_LOCK_WAIT_S}).scalar()
    if got != 1:
        raise errors.Conflict(msg("import_busy", lang))
    try:
        yield
    finally:
        db.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": WRITE_LOCK})


def _write_all_or_nothing(db: Session, principal: Principal, job: ImportJob, outcome: Outcome, lang: str) -> int:
    """Write every new account in one savepoint. When another request created one of the file's
    accounts since validation, the unique index refuses the insert and the savepoint takes
    everything back: the rows are matched again (an equal account is now EXISTING, a different
    one a problem) and the write is tried once more."""
    with _write_lock(db, lang):
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with db.begin_nested():
                    return _write(db, principal, job, outcome.candidates)
            except IntegrityError:
                log.warning("import job %s: accounts of the file were created meanwhile; matching again", job.id)
                for candidate in outcome.candidates:
                    candidate.status, candidate.user_id, candidate.system_id = RowStatus.VALID, None, None
                clashes = _match_existing(db, outcome.candidates, lang)
                if clashes or attempt == WRITE_ATTEMPTS:
                    outcome.invalid_rows |= {p.row for p in clashes if p.row is not None}
                    outcome.problems.extend(clashes or [Problem(None, None, msg("concurrent_change", lang))])
                    return 0
    return 0


def run_import(
    db: Session, principal: Principal, *, data: bytes, file_name: str | None, dry_run: bool, lang: str
) -> ImportJob:
    """Validate the whole file, then (unless a dry run or a problem) create every new account."""
    try:
        rows = excel.read_rows(data, settings_of(db).import_max_rows)
    except excel.FileProblem as exc:
        raise file_problem(exc, lang) from None
    outcome = validate(db, principal, rows, lang)
    job = ImportJob(
        org_id=principal.org.id,
        created_by=principal.id,
        status=ImportStatus.FAILED.value,
        dry_run=dry_run,
        file_name=file_name[:255] if file_name else None,
        file_sha256=hashlib.sha256(data).hexdigest(),
        total_rows=outcome.total_rows,
        created=0,
        existing=sum(1 for c in outcome.candidates if c.status == RowStatus.EXISTING),
        errors=[],
        results=[],
    )
    db.add(job)
    db.flush()
    if not outcome.problems and not dry_run:
        job.created = _write_all_or_nothing(db, principal, job, outcome, lang)
    if outcome.problems:
        job.status = ImportStatus.FAILED.value
    else:
        job.status = (ImportStatus.VALIDATED if dry_run else ImportStatus.COMPLETED).value
    job.existing = sum(1 for c in outcome.candidates if c.status == RowStatus.EXISTING)
    job.error_count = len(outcome.problems)
    job.errors = _sorted_problems(outcome.problems)
    job.results = _results(outcome)
    job.finished_at = utcnow()
    db.flush()
    audit.record(
        db,
        "USER_IMPORT",
        actor_id=principal.id,
        target_type="IMPORT_JOB",
        target_id=job.id,
        org_id=job.org_id,
        after={
            "status": job.status,
            "dry_run": dry_run,
            "file_sha256": job.file_sha256,
            "total_rows": job.total_rows,
            "created": job.created,
            "existing": job.existing,
            "error_count": job.error_count,
        },
    )
    outcome_label = job.status
    after_commit(db, lambda: IMPORTS.labels(outcome=outcome_label).inc())
    return job


# ---- jobs: reading ------------------------------------------------------------------------------


def get_job(db: Session, principal: Principal, job_id: int) -> ImportJob:
    job = db.get(ImportJob, job_id)
    if job is None or job.org_id not in principal.scope_org_ids(db):
        raise errors.NotFound()
    return job


def present_job(job: ImportJob, *, with_results: bool = True) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "dry_run": bool(job.dry_run),
        "file_name": job.file_name,
        "file_sha256": job.file_sha256,
        "org_id": job.org_id,
        "created_by": job.created_by,
        "total_rows": job.total_rows,
        "created": job.created,
        "existing": job.existing,
        "error_count": job.error_count,
        "errors": job.errors or [],
        "results": (job.results or []) if with_results else None,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def jobs_query(db: Session, principal: Principal) -> Select[tuple[ImportJob]]:
    return select(ImportJob).where(ImportJob.org_id.in_(principal.scope_org_ids(db)))


def job_report_bytes(job: ImportJob, lang: str) -> bytes:
    """The per-row report: one sheet of problems, one of row results."""
    labels = REPORT_LABELS.get(lang, REPORT_LABELS["ko"])
    problems = [(p.get("row"), p.get("column"), p.get("message")) for p in job.errors or []]
    results = [(r.get("row"), r.get("status"), r.get("user_id"), r.get("system_id")) for r in job.results or []]
    return excel.workbook_bytes(
        [
            ("errors", labels["errors"], problems),
            ("results", labels["results"], results),
        ]
    )


REPORT_LABELS: dict[str, dict[str, list[str]]] = {
    "ko": {"errors": ["행", "열", "문제"], "results": ["행", "결과", "계정 ID", "시스템 ID"]},
    "en": {"errors": ["row", "column", "message"], "results": ["row", "status", "user_id", "system_id"]},
}


# ---- template -----------------------------------------------------------------------------------

GUIDE: dict[str, list[tuple[str, str]]] = {
    "ko": [
        ("role", "필수. INVESTIGATOR(조사자), CLEANER(청소자), COLLECTOR(수거자)"),
        ("org_code", "필수. 소속 구·군 조직 코드 (예: BUSAN-HAEUNDAE)"),
        ("nickname", "필수. 2~20자"),
        ("real_name", "선택. 실명 (암호화되어 저장)"),
        ("phone", "필수. 휴대전화 번호 01012345678 또는 010-1234-5678"),
        ("email", "선택"),
        ("cleaner_type", "청소자만. REGULAR (비우면 REGULAR)"),
        ("birth", "선택. YYYY-MM-DD"),
        ("start_date", "선택. YYYY-MM-DD"),
        ("end_date", "선택. YYYY-MM-DD (시작일 이후)"),
        ("vehicle_type", "수거자 필수. SMALL, LARGE, SPECIAL"),
        ("capacity_t", "수거자 필수. 적재량(톤), 소수점 둘째 자리까지"),
        ("plate_no", "수거자 필수. 차량 번호"),
        ("operator_type", "수거자 필수. COMPANY, INDIVIDUAL"),
        ("company_name", "COMPANY일 때 필수. 업체명"),
        ("business_no", "선택. 사업자등록번호 123-45-67890"),
        ("", "수식은 사용할 수 없습니다. 같은 파일을 다시 올려도 이미 있는 계정은 만들지 않습니다."),
    ],
    "en": [
        ("role", "Required. INVESTIGATOR, CLEANER or COLLECTOR"),
        ("org_code", "Required. Code of the district organisation (e.g. BUSAN-HAEUNDAE)"),
        ("nickname", "Required. 2–20 characters"),
        ("real_name", "Optional. Stored encrypted"),
        ("phone", "Required. Mobile number 01012345678 or 010-1234-5678"),
        ("email", "Optional"),
        ("cleaner_type", "Cleaners only. REGULAR (blank means REGULAR)"),
        ("birth", "Optional. YYYY-MM-DD"),
        ("start_date", "Optional. YYYY-MM-DD"),
        ("end_date", "Optional. YYYY-MM-DD (not before start_date)"),
        ("vehicle_type", "Required for collectors. SMALL, LARGE or SPECIAL"),
        ("capacity_t", "Required for collectors. Tonnes, at most 2 decimal places"),
        ("plate_no", "Required for collectors. Plate number"),
        ("operator_type", "Required for collectors. COMPANY or INDIVIDUAL"),
        ("company_name", "Required when operator_type is COMPANY"),
        ("business_no", "Optional. Business registration number 123-45-67890"),
        ("", "Formulas are not allowed. Importing the same file again creates nothing new."),
    ],
}


def template_bytes(lang: str) -> bytes:
    guide_headers = ["열", "설명"] if lang == "ko" else ["column", "description"]
    return excel.template_bytes(GUIDE.get(lang, GUIDE["ko"]), guide_headers)


# ---- export -------------------------------------------------------------------------------------

EXPORT_COLUMNS: dict[str, dict[str, str]] = {
    "id": {"ko": "ID", "en": "ID"},
    "system_id": {"ko": "시스템 ID", "en": "System ID"},
    "nickname": {"ko": "닉네임", "en": "Nickname"},
    "phone": {"ko": "전화번호", "en": "Phone"},
    "role": {"ko": "역할", "en": "Role"},
    "org_id": {"ko": "조직 ID", "en": "Organisation ID"},
    "org_code": {"ko": "조직 코드", "en": "Organisation code"},
    "org_name": {"ko": "조직명", "en": "Organisation"},
    "status": {"ko": "상태", "en": "Status"},
    "status_reason": {"ko": "상태 사유", "en": "Status reason"},
    "cleaner_type": {"ko": "청소자 유형", "en": "Cleaner type"},
    "email": {"ko": "이메일", "en": "E-mail"},
    "real_name": {"ko": "실명", "en": "Real name"},
    "birth": {"ko": "생년월일", "en": "Birth date"},
    "start_date": {"ko": "시작일", "en": "Start date"},
    "end_date": {"ko": "종료일", "en": "End date"},
    "vehicle_type": {"ko": "차량 종류", "en": "Vehicle type"},
    "capacity_t": {"ko": "적재량(t)", "en": "Capacity (t)"},
    "plate_no": {"ko": "차량 번호", "en": "Plate number"},
    "operator_type": {"ko": "운영 형태", "en": "Operator type"},
    "company_name": {"ko": "업체명", "en": "Company"},
    "business_no": {"ko": "사업자등록번호", "en": "Business number"},
    "vehicle_verified": {"ko": "차량 인증", "en": "Vehicle verified"},
    "created_at": {"ko": "생성일시", "en": "Created at"},
    "last_login_at": {"ko": "최근 로그인", "en": "Last sign-in"},
}
DEFAULT_EXPORT_COLUMNS = [c for c in EXPORT_COLUMNS if c not in ("real_name", "birth")]
PII_EXPORT_COLUMNS = list(EXPORT_COLUMNS)


def parse_columns(columns: str | None, reveal: str | None) -> list[str]:
    if not columns:
        return PII_EXPORT_COLUMNS if reveal == "pii" else DEFAULT_EXPORT_COLUMNS
    chosen = [c.strip() for c in columns.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in EXPORT_COLUMNS]
    if unknown or not chosen:
        raise errors.ValidationFailed(
            details=[
                {"field": "query.columns", "message": "unknown column: {name}", "name": name}
                for name in (unknown or ["(none)"])
            ]
        )
    return list(dict.fromkeys(chosen))


def _local(value: datetime | None) -> str | None:
    return to_utc(value).astimezone(SEOUL).strftime("%Y-%m-%d %H:%M:%S") if value else None


def export_rows(
    db: Session, stmt: Select[Any], order_by: list[Any], columns: list[str], reveal: str | None
) -> Iterator[list[Any]]:
    """The rows of the export, streamed from the database in batches."""
    cipher = cipher_of(db)
    query = (
        stmt.with_only_columns(
            User.id,
            User.system_id,
            User.nickname,
            User.phone_enc,
            User.phone_last4,
            User.role,
            User.org_id,
            Organization.code,
            Organization.name,
            User.status,
            User.status_reason,
            User.cleaner_type,
            User.email,
            User.real_name_enc,
            WorkerProfile.birth,
            WorkerProfile.start_date,
            WorkerProfile.end_date,
            VehicleProfile.type,
            VehicleProfile.capacity_t,
            VehicleProfile.plate_no,
            VehicleProfile.operator_type,
            VehicleProfile.company_name,
            VehicleProfile.business_no,
            VehicleProfile.verified_at,
            User.created_at,
            User.last_login_at,
            maintain_column_froms=False,
        )
        .select_from(User)
        .join(Organization, Organization.id == User.org_id)
        .outerjoin(WorkerProfile, WorkerProfile.user_id == User.id)
        .outerjoin(VehicleProfile, VehicleProfile.user_id == User.id)
        .order_by(*order_by)
        .execution_options(yield_per=2000)
    )
    show_phone = reveal in ("phone", "pii")
    show_pii = reveal == "pii"
    for r in db.execute(query):
        phone = cipher.decrypt(r[3]) if show_phone and r[3] else None
        values: dict[str, Any] = {
            "id": r[0],
            "system_id": r[1],
            "nickname": r[2],
            "phone": phone or mask_phone(r[4]),
            "role": r[5],
            "org_id": r[6],
            "org_code": r[7],
            "org_name": r[8],
            "status": r[9],
            "status_reason": r[10],
            "cleaner_type": r[11],
            "email": r[12],
            "real_name": cipher.decrypt(r[13]) if show_pii and r[13] else None,
            "birth": r[14].isoformat() if show_pii and r[14] else None,
            "start_date": r[15].isoformat() if r[15] else None,
            "end_date": r[16].isoformat() if r[16] else None,
            "vehicle_type": r[17],
            "capacity_t": float(r[18]) if r[18] is not None else None,
            "plate_no": r[19],
            "operator_type": r[20],
            "company_name": r[21],
            "business_no": r[22],
            "vehicle_verified": (r[23] is not None) if r[17] is not None else None,
            "created_at": _local(r[24]),
            "last_login_at": _local(r[25]),
        }
        yield [values[c] for c in columns]


def count_rows(db: Session, stmt: Select[Any]) -> int:
    return int(db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())


def export_headers(columns: list[str], lang: str) -> list[str]:
    return [EXPORT_COLUMNS[c].get(lang) or EXPORT_COLUMNS[c]["ko"] for c in columns]
