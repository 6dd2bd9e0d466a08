"""The clients' catalogues: both languages carry the same ids, every id a template uses exists,
and no id is defined twice across the area files."""

from __future__ import annotations

import re

from beachsaver.web import i18n
from beachsaver.web.common import WEB_DIR

USED = re.compile(r"""\bt\(\s*['"]([a-z0-9_.]+)['"]""")
# Ids built from a value at render time (t('role.' ~ me.role)): their prefixes, checked by the
# enum tests below.
DYNAMIC = (
    "role.",
    "report_type.",
    "report_status.",
    "depot_status.",
    "job_type.",
    "job_status.",
    "nav.",
    "appnav.",
    "action.",
    "error.title_",
)


def test_both_languages_have_the_same_ids() -> None:
    i18n.catalogue.cache_clear()
    assert set(i18n.catalogue("ko")) == set(i18n.catalogue("en"))


def test_every_id_used_in_a_template_exists() -> None:
    known = set(i18n.catalogue("ko"))
    missing = set()
    for template in (WEB_DIR / "templates").rglob("*.html"):
        for key in USED.findall(template.read_text(encoding="utf-8")):
            if key not in known and not key.endswith(".") and not key.startswith(DYNAMIC):
                missing.add(f"{template.name}: {key}")
    assert not missing, sorted(missing)


def test_every_enum_value_shown_has_a_label() -> None:
    from beachsaver.core.enums import DepotStatus, ReportStatus, ReportType, Role
    from beachsaver.jobs.schemas import JobStatus, JobType
    from beachsaver.web.common import ADMIN_MENU, WORKER_ACTIONS, WORKER_TABS

    known = set(i18n.catalogue("ko"))
    expected = (
        [f"role.{v}" for v in Role]
        + [f"report_type.{v}" for v in ReportType]
        + [f"report_status.{v}" for v in ReportStatus]
        + [f"depot_status.{v}" for v in DepotStatus]
        + [f"job_type.{v}" for v in JobType]
        + [f"job_status.{v}" for v in JobStatus]
        + [f"nav.{key}" for key, _, _ in ADMIN_MENU]
        + [f"appnav.{key}" for key, _, _ in WORKER_TABS]
        + [f"action.{key}" for key, _, _ in WORKER_ACTIONS]
    )
    assert [key for key in expected if key not in known] == []
