from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from beachsaver.core.enums import CleanerType, OperatorType, VehicleType
from beachsaver.core.envelope import Schema, UtcDateTime
from beachsaver.users.schemas import BusinessNo, Capacity, CompanyName, Nickname, PlateNo, RealName


class ImportStatus(StrEnum):
    VALIDATED = "VALIDATED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class RowStatus(StrEnum):
    CREATED = "CREATED"
    EXISTING = "EXISTING"
    VALID = "VALID"
    INVALID = "INVALID"


class ImportProblem(Schema):
    row: int | None = Field(description="spreadsheet row (header = 1); null for a problem of the whole file")
    column: str | None = Field(description="header name of the cell")
    message: str


class ImportRowResult(Schema):
    row: int
    status: RowStatus = Field(
        description="CREATED, EXISTING (an equal account exists: skipped), VALID (would be created), INVALID"
    )
    user_id: int | None = None
    system_id: str | None = None


class ImportJobOut(Schema):
    id: int
    status: ImportStatus = Field(description="VALIDATED (a clean dry run), COMPLETED or FAILED")
    dry_run: bool
    file_name: str | None = None
    file_sha256: str
    org_id: int
    created_by: int
    total_rows: int = Field(description="non-blank data rows of the first sheet")
    created: int
    existing: int = Field(description="rows equal to an account that already exists (skipped)")
    error_count: int = Field(description="every problem found (errors lists the first 10,000)")
    errors: list[ImportProblem]
    results: list[ImportRowResult] | None = Field(default=None, description="one per data row (left out of lists)")
    created_at: UtcDateTime
    finished_at: UtcDateTime | None = None


class ImportRow(BaseModel):
    """The typed cells of one data row (field names are the column headers).

    Cells arrive already cleaned (text trimmed, blanks None, numbers of text columns as text,
    Excel dates as dates); role, organisation, phone and the cross-field rules are checked by
    the service.
    """

    model_config = ConfigDict(extra="ignore")

    nickname: Nickname
    real_name: RealName | None = None
    email: EmailStr | None = None
    cleaner_type: CleanerType | None = None
    birth: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    vehicle_type: VehicleType | None = None
    capacity_t: Capacity | None = None
    plate_no: PlateNo | None = None
    operator_type: OperatorType | None = None
    company_name: CompanyName | None = None
    business_no: BusinessNo | None = None
