"""JSON-lines logging with trace ids and masked personal data (03-operations §8)."""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from beachsaver.core.trace import current_trace_id

_PHONE_RE = re.compile(r"(?<!\d)(\+?82-?|0)(1[016789])[- ]?(\d{3,4})[- ]?(\d{4})(?!\d)")
_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_BEARER_RE = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_EXTRA_FIELDS = ("trace_id", "route", "status", "duration_ms", "user_id", "method", "path", "security_event", "job")


def mask_pii(text: str) -> str:
    text = _PHONE_RE.sub(lambda m: f"0{m.group(2)}-****-{m.group(4)}", text)
    text = _EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _BEARER_RE.sub(lambda m: f"{m.group(1)}[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_pii(record.getMessage()),
        }
        trace_id = getattr(record, "trace_id", None) or current_trace_id.get()
        if trace_id:
            payload["trace_id"] = trace_id
        for name in _EXTRA_FIELDS[1:]:
            value = getattr(record, name, None)
            if value is not None:
                payload[name] = json.loads(mask_pii(json.dumps(value, ensure_ascii=False, default=str)))
        if record.exc_info:
            payload["exception"] = mask_pii(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure(level: str = "INFO", log_file: str | None = None) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_beachsaver", False):
            root.removeHandler(handler)
    formatter = JsonFormatter()
    stream = logging.StreamHandler()
    stream.setFormatter(formatter)
    stream._beachsaver = True  # type: ignore[attr-defined]
    root.addHandler(stream)
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.TimedRotatingFileHandler(log_file, when="midnight", backupCount=400, utc=True)
        rotating.setFormatter(formatter)
        rotating._beachsaver = True  # type: ignore[attr-defined]
        root.addHandler(rotating)
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").disabled = True
