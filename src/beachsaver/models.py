"""Imports every model module so that metadata (and Alembic) sees all tables."""

from beachsaver.audit import models as audit_models
from beachsaver.auth import models as auth_models
from beachsaver.beaches import models as beach_models
from beachsaver.core.db import Base
from beachsaver.depots import models as depot_models
from beachsaver.images import models as image_models
from beachsaver.imports import models as import_models
from beachsaver.jobs import models as job_models
from beachsaver.messaging import models as messaging_models
from beachsaver.notifications import models as notification_models
from beachsaver.ops import models as ops_models
from beachsaver.orgs import models as org_models
from beachsaver.reports import models as report_models
from beachsaver.reports_pdf import models as report_pdf_models
from beachsaver.statistics import models as statistics_models
from beachsaver.teams import models as team_models
from beachsaver.users import models as user_models

__all__ = [
    "Base",
    "audit_models",
    "auth_models",
    "beach_models",
    "depot_models",
    "image_models",
    "import_models",
    "job_models",
    "messaging_models",
    "notification_models",
    "ops_models",
    "org_models",
    "report_models",
    "report_pdf_models",
    "statistics_models",
    "team_models",
    "user_models",
]
