"""One error hierarchy; each class carries its HTTP status and stable code.

Mapped to the envelope in one place (``beachsaver.core.envelope.install_error_handlers``).
``message_key`` names an entry of the message catalogue so that messages follow
``Accept-Language``; ``params`` fill its placeholders.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 500
    code = "INTERNAL_ERROR"
    default_key = "internal_error"
    #: Commit what the request did before answering (e.g. record a failed sign-in).
    commit = False

    def __init__(
        self,
        message_key: str | None = None,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        commit: bool | None = None,
        **params: Any,
    ) -> None:
        self.message_key = message_key or self.default_key
        self.params = params
        self.details = details
        self.headers = headers or {}
        if commit is not None:
            self.commit = commit
        super().__init__(self.message_key)


class ValidationFailed(AppError):
    status_code = 400
    code = "VALIDATION_ERROR"
    default_key = "validation_error"

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(details=[{"field": field, "message": message}])


class Unauthenticated(AppError):
    status_code = 401
    code = "UNAUTHENTICATED"
    default_key = "unauthenticated"


class PasswordExpired(AppError):
    status_code = 403
    code = "PASSWORD_EXPIRED"
    default_key = "password_expired"


class Forbidden(AppError):
    status_code = 403
    code = "FORBIDDEN"
    default_key = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "NOT_FOUND"
    default_key = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "CONFLICT"
    default_key = "conflict"


class DuplicateSuspected(AppError):
    status_code = 409
    code = "DUPLICATE_SUSPECTED"
    default_key = "duplicate_suspected"


class InvalidState(AppError):
    status_code = 409
    code = "INVALID_STATE"
    default_key = "invalid_state"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_key = "payload_too_large"


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    default_key = "unsupported_media_type"


class Locked(AppError):
    status_code = 423
    code = "LOCKED"
    default_key = "locked"


class RateLimited(AppError):
    status_code = 429
    code = "RATE_LIMITED"
    default_key = "rate_limited"


class DbUnavailable(AppError):
    status_code = 503
    code = "DB_UNAVAILABLE"
    default_key = "db_unavailable"


class StorageUnavailable(AppError):
    status_code = 503
    code = "STORAGE_UNAVAILABLE"
    default_key = "storage_unavailable"


class Maintenance(AppError):
    status_code = 503
    code = "MAINTENANCE"
    default_key = "maintenance"


ALL_ERRORS: tuple[type[AppError], ...] = (
    ValidationFailed,
    Unauthenticated,
    PasswordExpired,
    Forbidden,
    NotFound,
    Conflict,
    DuplicateSuspected,
    InvalidState,
    PayloadTooLarge,
    UnsupportedMediaType,
    Locked,
    RateLimited,
    DbUnavailable,
    StorageUnavailable,
    Maintenance,
    AppError,
)
