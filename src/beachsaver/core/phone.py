"""Korean mobile numbers: accepted as 01012345678, 010-1234-5678 or +821012345678."""

from __future__ import annotations

import re

_MOBILE_RE = re.compile(r"^01[016789]\d{7,8}$")


def normalise_phone(raw: str) -> str | None:
    """The stored form ``01012345678``, or None when the input is not a Korean mobile number."""
    if not isinstance(raw, str):
        return None
    value = raw.strip().replace("-", "").replace(" ", "")
    if value.startswith("+82"):
        value = "0" + value[3:]
    elif value.startswith("82") and len(value) in (11, 12):
        value = "0" + value[2:]
    return value if _MOBILE_RE.match(value) else None


def mask_phone(phone_or_last4: str) -> str:
    last4 = phone_or_last4[-4:]
    return f"010-****-{last4}"


def format_phone(phone: str) -> str:
    if len(phone) == 11:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    return f"{phone[:3]}-{phone[3:6]}-{phone[6:]}"
