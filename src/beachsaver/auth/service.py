"""Sign-in: phone codes, admin password + code, sessions, refresh-token chains, lock-outs.

Every step answers the same whether or not a phone has an account. Failures are recorded
(and committed, see ``AppError.commit``) before the error is answered.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from beachsaver.audit import security
from beachsaver.audit import service as audit
from beachsaver.auth.models import (
    AuthFailure,
    AuthLock,
    AuthSession,
    OtpCode,
    RefreshToken,
    SelectionToken,
)
from beachsaver.core import errors
from beachsaver.core.crypto import token_hash
from beachsaver.core.db import rows_affected
from beachsaver.core.enums import ADMIN_ROLES, OtpPurpose, Role, UserStatus
from beachsaver.core.metrics import SIGNINS
from beachsaver.core.phone import normalise_phone
from beachsaver.core.runtime import cipher_of, settings_of
from beachsaver.core.security import (
    burn_password_check,
    code_hash,
    hash_password,
    issue_access_token,
    new_code,
    new_token,
    verify_password,
)
from beachsaver.core.time import to_utc, utcnow
from beachsaver.messaging import service as messaging
from beachsaver.users import service as user_service
from beachsaver.users.models import User


@dataclass
class ClientInfo:
    ip: str | None = None
    user_agent: str | None = None


# ---- limits and lock-outs ----------------------------------------------------------------


def _retry_after(until: datetime) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil((to_utc(until) - utcnow()).total_seconds())))}


def lock_until(db: Session, subject: str) -> datetime | None:
    lock = db.get(AuthLock, subject)
    if lock is not None and to_utc(lock.locked_until) > utcnow():
        return lock.locked_until
    return None


def ensure_not_locked(db: Session, subject: str) -> None:
    until = lock_until(db, subject)
    if until is not None:
        raise errors.Locked(headers=_retry_after(until))


def _set_lock(db: Session, subject: str, until: datetime) -> None:
    """Insert or extend a lock; a concurrent writer of the same lock is not an error."""
    lock = db.get(AuthLock, subject)
    if lock is not None:
        lock.locked_until = until
        return
    try:
        with db.begin_nested():
            db.add(AuthLock(subject=subject, locked_until=until))
            db.flush()
    except IntegrityError:
        db.execute(update(AuthLock).where(AuthLock.subject == subject).values(locked_until=until))


def record_failure(
    db: Session,
    subject: str,
    *,
    user: User | None = None,
    kind: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Count a failure; at the threshold lock the subject and raise a security event.

    ``user`` is the account the attempt was aimed at (when known); it is the entry's target,
    not its actor: whoever failed has not proved who they are.
    """
    settings = settings_of(db)
    now = utcnow()
    db.add(AuthFailure(subject=subject, at=now))
    db.flush()
    window_start = now - timedelta(seconds=settings.lock_window_s)
    failures = db.execute(
        select(func.count())
        .select_from(AuthFailure)
        .where(AuthFailure.subject == subject, AuthFailure.at > window_start)
    ).scalar_one()
    SIGNINS.labels(kind=kind, outcome="failure").inc()
    audit.record(
        db,
        "AUTH_LOGIN_FAILURE",
        actor_id=None,
        target_type="USER" if user else None,
        target_id=user.id if user else None,
        org_id=user.org_id if user else None,
        after={"kind": kind, "failures": failures, **(details or {})},
    )
    if failures >= settings.lock_threshold:
        until = now + timedelta(seconds=settings.lock_duration_s)
        _set_lock(db, subject, until)
        db.execute(delete(AuthFailure).where(AuthFailure.subject == subject))
        security.raise_event(
            db,
            "lockout",
            actor_id=None,
            target_type="USER" if user else None,
            target_id=user.id if user else None,
            org_id=user.org_id if user else None,
            details={"kind": kind, "failures": failures, "locked_until": until, **(details or {})},
        )


def clear_failures(db: Session, subject: str) -> None:
    db.execute(delete(AuthFailure).where(AuthFailure.subject == subject))


def _phone_subject(phone_hash: str) -> str:
    return f"phone:{phone_hash[:60]}"


def _user_subject(user_id: int) -> str:
    return f"user:{user_id}"


def _send_alert_subject(phone_hash: str, purpose: OtpPurpose) -> str:
    return f"sendlimit:{purpose}:{phone_hash[:48]}"


def check_send_limits(db: Session, phone_hash: str, purpose: OtpPurpose) -> None:
    """One send per ``OTP_MIN_INTERVAL_S`` and ``OTP_MAX_SENDS`` per ``OTP_SEND_WINDOW_S``,
    counted per phone and purpose; the first refusal at the ceiling alerts the admins."""
    settings = settings_of(db)
    now = utcnow()
    window_start = now - timedelta(seconds=max(settings.otp_send_window_s, settings.otp_min_interval_s))
    recent = [
        to_utc(at)
        for at in db.execute(
            select(OtpCode.created_at)
            .where(OtpCode.phone_hash == phone_hash, OtpCode.purpose == purpose, OtpCode.created_at > window_start)
            .order_by(OtpCode.created_at.desc())
        ).scalars()
    ]
    if recent and recent[0] + timedelta(seconds=settings.otp_min_interval_s) > now:
        raise errors.RateLimited(headers=_retry_after(recent[0] + timedelta(seconds=settings.otp_min_interval_s)))
    in_window = [at for at in recent if at > now - timedelta(seconds=settings.otp_send_window_s)]
    if len(in_window) >= settings.otp_max_sends:
        # The oldest send that still counts leaves the window first.
        free_at = in_window[settings.otp_max_sends - 1] + timedelta(seconds=settings.otp_send_window_s)
        marker = _send_alert_subject(phone_hash, purpose)
        if lock_until(db, marker) is None:
            # Tell the admins once per phone, purpose and window, not at every refused request.
            _set_lock(db, marker, free_at)
            security.raise_event(db, "otp_rate_limit", details={"purpose": str(purpose), "sends": len(in_window)})
        raise errors.RateLimited(headers=_retry_after(free_at), commit=True)


def issue_code(db: Session, *, phone: str, purpose: OtpPurpose, send: bool, user_id: int | None = None) -> OtpCode:
    """Create a code row (counted by the send limits); send it only when ``send``."""
    settings = settings_of(db)
    phone_hash = cipher_of(db).lookup_hash(phone)
    check_send_limits(db, phone_hash, purpose)
    now = utcnow()
    code = new_code()
    otp = OtpCode(
        phone_hash=phone_hash,
        purpose=purpose,
        code_hash=code_hash(settings.jwt_secret, f"{phone_hash}:{purpose}", code),
        user_id=user_id,
        sent=send,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.otp_ttl_s),
    )
    db.add(otp)
    db.flush()
    if send:
        messaging.send_code(
            db,
            phone=phone,
            code=code,
            purpose=str(purpose),
            idempotency_key=f"otp-{otp.id}-{int(now.timestamp() * 1000)}",
        )
    return otp


def _code_matches(db: Session, otp: OtpCode, code: str) -> bool:
    expected = code_hash(settings_of(db).jwt_secret, f"{otp.phone_hash}:{otp.purpose}", code)
    return hmac.compare_digest(expected, otp.code_hash)


def consume_phone_code(db: Session, *, phone: str, purpose: OtpPurpose, code: str, kind: str) -> None:
    """Check the newest live code for (phone, purpose); lock after repeated failures."""
    phone_hash = cipher_of(db).lookup_hash(phone)
    subject = _phone_subject(phone_hash)
    ensure_not_locked(db, subject)
    otp = db.execute(
        select(OtpCode)
        .where(
            OtpCode.phone_hash == phone_hash,
            OtpCode.purpose == purpose,
            OtpCode.used_at.is_(None),
            OtpCode.sent.is_(True),
            OtpCode.expires_at > utcnow(),
        )
        .order_by(OtpCode.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if otp is None or not _code_matches(db, otp, code):
        accounts = _phone_accounts(db, phone_hash)
        record_failure(db, subject, user=accounts[0] if accounts else None, kind=kind, details={"phone": phone})
        raise errors.Unauthenticated("invalid_code", commit=True)
    # Single use, even under concurrent verification: only one UPDATE wins.
    won = rows_affected(
        db, update(OtpCode).where(OtpCode.id == otp.id, OtpCode.used_at.is_(None)).values(used_at=utcnow())
    )
    if won != 1:
        raise errors.Unauthenticated("invalid_code")
    clear_failures(db, subject)


# ---- sessions and tokens -------------------------------------------------------------------


def revoke_sessions(db: Session, user_id: int, reason: str, *, except_session: int | None = None) -> None:
    stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if except_session is not None:
        stmt = stmt.where(AuthSession.id != except_session)
    db.execute(stmt.values(revoked_at=utcnow(), revoke_reason=reason))


def _new_refresh(db: Session, session_id: int, parent_id: int | None) -> str:
    settings = settings_of(db)
    raw = new_token()
    db.add(
        RefreshToken(
            session_id=session_id,
            token_hash=token_hash(raw),
            parent_id=parent_id,
            expires_at=utcnow() + timedelta(seconds=settings.refresh_ttl_s),
        )
    )
    return raw


def _password_expired(db: Session, user: User) -> bool:
    if user.admin_profile is None:
        return False
    max_age = timedelta(days=settings_of(db).password_max_age_days)
    return to_utc(user.admin_profile.password_changed_at) + max_age <= utcnow()


def tokens_for(db: Session, user: User, session_id: int, refresh_raw: str) -> dict[str, Any]:
    settings = settings_of(db)
    access = issue_access_token(
        settings.jwt_secret, user_id=user.id, session_id=session_id, role=user.role, ttl_s=settings.access_ttl_s
    )
    return {
        "access_token": access,
        "refresh_token": refresh_raw,
        "token_type": "bearer",
        "expires_in": settings.access_ttl_s,
        "password_expired": _password_expired(db, user),
        "user": user_service.present(db, user, reveal_phone=False),
    }


def start_session(db: Session, user: User, client: ClientInfo, *, kind: str) -> dict[str, Any]:
    """A new sign-in ends the account's older sessions."""
    revoke_sessions(db, user.id, "SUPERSEDED")
    session = AuthSession(user_id=user.id, ip=client.ip, user_agent=(client.user_agent or "")[:255] or None)
    db.add(session)
    db.flush()
    refresh_raw = _new_refresh(db, session.id, None)
    user.last_login_at = utcnow()
    clear_failures(db, _user_subject(user.id))
    db.flush()
    SIGNINS.labels(kind=kind, outcome="success").inc()
    audit.record(
        db,
        "AUTH_LOGIN",
        actor_id=user.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        after={"kind": kind, "session_id": session.id},
    )
    return tokens_for(db, user, session.id, refresh_raw)


# ---- worker / citizen phone sign-in -------------------------------------------------------


def _phone_accounts(db: Session, phone_hash: str) -> list[User]:
    return list(
        db.execute(
            select(User)
            .where(
                User.phone_hash == phone_hash,
                User.role.not_in([r.value for r in ADMIN_ROLES]),
                User.status.in_([UserStatus.ACTIVE, UserStatus.PENDING_APPROVAL]),
            )
            .order_by(User.id)
        ).scalars()
    )


def phone_login(db: Session, phone: str) -> dict[str, int]:
    """The same answer for every phone; a code is sent only to a phone with an account.

    While the phone is locked nothing is sent (and nothing is counted): the answer is still 200.
    """
    settings = settings_of(db)
    answer = {"expires_in": settings.otp_ttl_s}
    phone_hash = cipher_of(db).lookup_hash(phone)
    if lock_until(db, _phone_subject(phone_hash)) is not None:
        return answer
    has_account = bool(_phone_accounts(db, phone_hash))
    issue_code(db, phone=phone, purpose=OtpPurpose.LOGIN, send=has_account)
    return answer


def phone_verify(db: Session, phone: str, code: str, client: ClientInfo) -> dict[str, Any]:
    consume_phone_code(db, phone=phone, purpose=OtpPurpose.LOGIN, code=code, kind="phone")
    accounts = _phone_accounts(db, cipher_of(db).lookup_hash(phone))
    if not accounts:
        raise errors.Unauthenticated("invalid_code")
    if len(accounts) == 1:
        return start_session(db, accounts[0], client, kind="phone")
    raw = new_token()
    db.add(
        SelectionToken(
            token_hash=token_hash(raw),
            phone_hash=accounts[0].phone_hash,
            user_ids=[u.id for u in accounts],
            expires_at=utcnow() + timedelta(seconds=settings_of(db).selection_ttl_s),
        )
    )
    return {
        "accounts": [
            {
                "user_id": u.id,
                "system_id": u.system_id,
                "nickname": u.nickname,
                "role": u.role,
                "org_id": u.org_id,
                "status": u.status,
            }
            for u in accounts
        ],
        "selection_token": raw,
    }


def select_account(db: Session, raw_token: str, user_id: int, client: ClientInfo) -> dict[str, Any]:
    selection = db.execute(
        select(SelectionToken).where(SelectionToken.token_hash == token_hash(raw_token))
    ).scalar_one_or_none()
    if selection is None or selection.used_at is not None or to_utc(selection.expires_at) <= utcnow():
        raise errors.Unauthenticated("invalid_token")
    if user_id not in selection.user_ids:
        raise errors.Forbidden()
    won = rows_affected(
        db,
        update(SelectionToken)
        .where(SelectionToken.id == selection.id, SelectionToken.used_at.is_(None))
        .values(used_at=utcnow()),
    )
    user = db.get(User, user_id)
    if (
        won != 1
        or user is None
        or user.phone_hash != selection.phone_hash
        or Role(user.role) in ADMIN_ROLES
        or user.status not in (UserStatus.ACTIVE, UserStatus.PENDING_APPROVAL)
    ):
        raise errors.Unauthenticated("invalid_token")
    return start_session(db, user, client, kind="phone")


# ---- administrators --------------------------------------------------------------------------


def _find_admin(db: Session, login_id: str) -> User | None:
    phone = normalise_phone(login_id)
    if phone is None:
        user = db.execute(select(User).where(User.system_id == login_id)).scalar_one_or_none()
        return user if user is not None and Role(user.role) in ADMIN_ROLES else None
    admins = list(
        db.execute(
            select(User).where(
                User.phone_hash == cipher_of(db).lookup_hash(phone),
                User.role.in_([r.value for r in ADMIN_ROLES]),
                User.live.is_(True),
            )
        ).scalars()
    )
    if len(admins) > 1:
        raise errors.ValidationFailed.field("login_id", "this phone holds several admin accounts: use the system id")
    return admins[0] if admins else None


def admin_login(db: Session, login_id: str, password: str) -> dict[str, Any]:
    settings = settings_of(db)
    user = _find_admin(db, login_id)
    if user is None:
        burn_password_check(password)
        SIGNINS.labels(kind="admin", outcome="failure").inc()
        audit.record(db, "AUTH_LOGIN_FAILURE", actor_id=None, after={"kind": "admin", "reason": "unknown_login_id"})
        raise errors.Unauthenticated("invalid_credentials", commit=True)
    subject = _user_subject(user.id)
    ensure_not_locked(db, subject)
    profile = user.admin_profile
    if profile is None or not verify_password(profile.password_hash, password) or user.status != UserStatus.ACTIVE:
        record_failure(db, subject, user=user, kind="admin")
        raise errors.Unauthenticated("invalid_credentials", commit=True)
    if user.role != Role.PLATFORM_ADMIN and _in_maintenance(db):
        raise errors.Maintenance()
    phone = cipher_of(db).decrypt(user.phone_enc) or ""
    raw = new_token()
    otp = issue_code(db, phone=phone, purpose=OtpPurpose.ADMIN_LOGIN, send=True, user_id=user.id)
    otp.challenge_hash = token_hash(raw)
    return {"challenge_id": raw, "expires_in": settings.otp_ttl_s}


def _in_maintenance(db: Session) -> bool:
    """Maintenance mode (not read-only): only platform admins may sign in."""
    from beachsaver.ops import switches

    return switches.load(db).maintenance == "on"


def admin_verify(db: Session, challenge_id: str, code: str, client: ClientInfo) -> dict[str, Any]:
    otp = db.execute(select(OtpCode).where(OtpCode.challenge_hash == token_hash(challenge_id))).scalar_one_or_none()
    if otp is None or otp.user_id is None:
        raise errors.Unauthenticated("invalid_code")
    user = db.get(User, otp.user_id)
    if user is None:
        raise errors.Unauthenticated("invalid_code")
    subject = _user_subject(user.id)
    ensure_not_locked(db, subject)
    if otp.used_at is not None or to_utc(otp.expires_at) <= utcnow() or not _code_matches(db, otp, code):
        record_failure(db, subject, user=user, kind="admin_code")
        raise errors.Unauthenticated("invalid_code", commit=True)
    won = rows_affected(
        db, update(OtpCode).where(OtpCode.id == otp.id, OtpCode.used_at.is_(None)).values(used_at=utcnow())
    )
    if won != 1 or user.status != UserStatus.ACTIVE:
        raise errors.Unauthenticated("invalid_code")
    return start_session(db, user, client, kind="admin")


def change_password(db: Session, user: User, current: str, new: str, client: ClientInfo) -> dict[str, Any]:
    """An admin sets a new password. Every earlier session of the account ends (the one the
    request came with included); the answer is a new session's token pair."""
    profile = user.admin_profile
    if profile is None or Role(user.role) not in ADMIN_ROLES:
        raise errors.Forbidden()
    subject = _user_subject(user.id)
    ensure_not_locked(db, subject)
    if not verify_password(profile.password_hash, current):
        record_failure(db, subject, user=user, kind="password_change")
        raise errors.ValidationFailed(details=[{"field": "current_password", "message": "wrong password"}], commit=True)
    if verify_password(profile.password_hash, new):
        raise errors.ValidationFailed.field("new_password", "the new password must differ from the current one")
    profile.password_hash = hash_password(new)
    profile.password_changed_at = utcnow()
    audit.record(
        db, "USER_PASSWORD_CHANGE", actor_id=user.id, target_type="USER", target_id=user.id, org_id=user.org_id
    )
    return start_session(db, user, client, kind="password_change")


# ---- refresh and sign-out ---------------------------------------------------------------------


def refresh(db: Session, raw: str) -> dict[str, Any]:
    token = db.execute(select(RefreshToken).where(RefreshToken.token_hash == token_hash(raw))).scalar_one_or_none()
    if token is None:
        raise errors.Unauthenticated("invalid_token")
    session = db.get(AuthSession, token.session_id)
    if session is None or session.revoked_at is not None:
        raise errors.Unauthenticated("invalid_token")
    user = db.get(User, session.user_id)
    won = rows_affected(
        db,
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow()),
    )
    if won != 1:
        # A rotated token came back: someone holds a copy. End the whole chain.
        session.revoked_at = utcnow()
        session.revoke_reason = "REFRESH_REUSE"
        security.raise_event(
            db,
            "refresh_reuse",
            actor_id=session.user_id,
            target_type="USER",
            target_id=session.user_id,
            org_id=user.org_id if user else None,
            details={"session_id": session.id},
        )
        raise errors.Unauthenticated("invalid_token", commit=True)
    if (
        to_utc(token.expires_at) <= utcnow()
        or user is None
        or user.status
        not in (
            UserStatus.ACTIVE,
            UserStatus.PENDING_APPROVAL,
        )
    ):
        raise errors.Unauthenticated("invalid_token")
    child = _new_refresh(db, session.id, token.id)
    return tokens_for(db, user, session.id, child)


def logout(db: Session, user: User, session_id: int) -> None:
    session = db.get(AuthSession, session_id)
    if session is not None and session.revoked_at is None:
        session.revoked_at = utcnow()
        session.revoke_reason = "LOGOUT"
    audit.record(db, "AUTH_LOGOUT", actor_id=user.id, target_type="USER", target_id=user.id, org_id=user.org_id)


def send_purpose_code(db: Session, phone: str, purpose: OtpPurpose, user: User | None) -> dict[str, int]:
    if purpose not in (OtpPurpose.SIGNUP, OtpPurpose.PHONE_CHANGE):
        raise errors.ValidationFailed.field("purpose", "purpose must be SIGNUP or PHONE_CHANGE")
    if purpose == OtpPurpose.PHONE_CHANGE and user is None:
        raise errors.Unauthenticated()
    answer = {"expires_in": settings_of(db).otp_ttl_s}
    if lock_until(db, _phone_subject(cipher_of(db).lookup_hash(phone))) is not None:
        return answer  # locked: nothing is sent, the answer is the same
    issue_code(db, phone=phone, purpose=purpose, send=True)
    return answer
