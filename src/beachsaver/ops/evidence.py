"""``beachsaver audit export``: the evidence package of the guide's incident procedure."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from beachsaver.audit.models import AuditEntry
from beachsaver.audit.service import seal_all, verify_chain
from beachsaver.core.db import session_scope
from beachsaver.core.runtime import Runtime
from beachsaver.core.time import iso_z, utcnow


def export_audit(runtime: Runtime, start: datetime | None, end: datetime | None, out_dir: Path | None = None) -> Path:
    """A .tar.gz with the audit entries of the period (JSON lines), the chain verification and
    a manifest of SHA-256 checksums; returns its path."""
    out_dir = out_dir or runtime.settings.data_dir / "evidence"
    out_dir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    seal_all(runtime.session_factory)  # the package carries a chain with everything committed so far
    with session_scope(runtime.session_factory) as db:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if start is not None:
            stmt = stmt.where(AuditEntry.at >= start)
        if end is not None:
            stmt = stmt.where(AuditEntry.at < end)
        for entry in db.execute(stmt).scalars():
            lines.append(
                json.dumps(
                    {
                        "id": entry.id,
                        "at": iso_z(entry.at),
                        "actor_id": entry.actor_id,
                        "action": entry.action,
                        "target_type": entry.target_type,
                        "target_id": entry.target_id,
                        "org_id": entry.org_id,
                        "before": entry.before,
                        "after": entry.after,
                        "trace_id": entry.trace_id,
                        "ip": entry.ip,
                        "seq": entry.seq,
                        "prev_hash": entry.prev_hash,
                        "hash": entry.hash,
                    },
                    ensure_ascii=False,
                )
            )
        verification = verify_chain(db)
    files = {
        "audit.jsonl": ("\n".join(lines) + ("\n" if lines else "")).encode(),
        "verification.txt": (
            f"checked {verification.checked} entries: {'OK' if verification.ok else 'TAMPERED'}\n"
            + "".join(f"{p}\n" for p in verification.problems)
            + (f"{verification.unsealed} entries not sealed yet\n" if verification.unsealed else "")
        ).encode(),
    }
    manifest = {
        "exported_at": iso_z(utcnow()),
        "from": iso_z(start),
        "to": iso_z(end),
        "entries": len(lines),
        "chain_ok": verification.ok,
        "files": {name: hashlib.sha256(body).hexdigest() for name, body in files.items()},
    }
    files["manifest.json"] = json.dumps(manifest, indent=2).encode()
    path = out_dir / f"audit-evidence-{utcnow():%Y%m%dT%H%M%SZ}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return path
