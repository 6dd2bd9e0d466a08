"""Run one import in this process and SIGKILL it once the accounts are written but not committed.

``python -m tests.imports.kill_import DATABASE_URL DATA_DIR ADMIN_ID FILE``: used by
``test_faults`` to show that a process killed in the middle of an import leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any


def main(database_url: str, data_dir: str, admin_id: int, file: str) -> None:
    from beachsaver.core.deps import Principal
    from beachsaver.core.runtime import build_runtime
    from beachsaver.imports import service
    from beachsaver.orgs.models import Organization
    from beachsaver.users.models import User
    from tests.conftest import make_settings

    runtime = build_runtime(make_settings(database_url, Path(data_dir)))
    original = service._write

    def write_then_die(*args: Any, **kwargs: Any) -> Any:
        created = original(*args, **kwargs)
        args[0].flush()
        print(f"written {created}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        return created

    service._write = write_then_die  # type: ignore[assignment]
    with runtime.session_factory() as db:
        admin = db.get(User, admin_id)
        assert admin is not None
        org = db.get(Organization, admin.org_id)
        assert org is not None
        principal = Principal(user=admin, session_id=0, org=org)
        service.run_import(db, principal, data=Path(file).read_bytes(), file_name="x.xlsx", dry_run=False, lang="en")
        db.commit()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
