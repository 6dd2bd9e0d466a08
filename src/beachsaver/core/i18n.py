"""Message catalogue for API error messages (Korean default, English available)."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "internal_error": {"ko": "일시적인 오류가 발생했습니다.", "en": "An unexpected error occurred."},
    "validation_error": {"ko": "입력값을 확인해 주세요.", "en": "Some fields are invalid."},
    "unauthenticated": {"ko": "인증이 필요합니다.", "en": "Authentication is required."},
    "invalid_code": {"ko": "인증번호가 올바르지 않거나 만료되었습니다.", "en": "The code is wrong or has expired."},
    "invalid_credentials": {"ko": "아이디 또는 비밀번호가 올바르지 않습니다.", "en": "Wrong login id or password."},
    "invalid_token": {"ko": "토큰이 유효하지 않습니다.", "en": "The token is invalid or has expired."},
    "password_expired": {
        "ko": "비밀번호가 만료되었습니다. 새 비밀번호를 설정해 주세요.",
        "en": "Your password has expired. Set a new password first.",
    },
    "forbidden": {"ko": "이 작업을 할 권한이 없습니다.", "en": "You are not allowed to do this."},
    "pending_approval": {
        "ko": "가입 승인 대기 중입니다.",
        "en": "Your account is waiting for approval.",
    },
    "csrf_failed": {
        "ko": "보안 토큰이 맞지 않습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요.",
        "en": "The security token did not match. Reload the page and try again.",
    },
    "not_found": {"ko": "대상을 찾을 수 없습니다.", "en": "Not found."},
    "conflict": {"ko": "이미 존재하거나 충돌하는 데이터입니다.", "en": "This conflicts with existing data."},
    "phone_role_taken": {
        "ko": "이 전화번호로 같은 역할의 계정이 이미 있습니다.",
        "en": "This phone already has an account with this role.",
    },
    "last_admin": {
        "ko": "조직의 마지막 활성 관리자는 정지하거나 탈퇴시킬 수 없습니다.",
        "en": "The last active admin of an organisation cannot be suspended or withdrawn.",
    },
    "duplicate_name": {"ko": "같은 이름이 이미 있습니다.", "en": "The name is already used."},
    "duplicate_code": {"ko": "같은 코드가 이미 있습니다.", "en": "The code is already used."},
    "duplicate_suspected": {
        "ko": "중복으로 의심되는 보고서가 있습니다.",
        "en": "A similar report already exists.",
    },
    "invalid_state": {"ko": "현재 상태에서는 할 수 없는 작업입니다.", "en": "Not possible in the current state."},
    "payload_too_large": {"ko": "요청이 너무 큽니다.", "en": "The request is too large."},
    "unsupported_media_type": {
        "ko": "지원하지 않는 형식입니다.",
        "en": "Unsupported content type.",
    },
    "locked": {
        "ko": "실패가 반복되어 잠시 잠겼습니다. 잠시 후 다시 시도해 주세요.",
        "en": "Too many failures; locked for a while. Try again later.",
    },
    "rate_limited": {
        "ko": "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
        "en": "Too many requests. Try again later.",
    },
    "db_unavailable": {"ko": "데이터베이스를 사용할 수 없습니다.", "en": "The database is unavailable."},
    "storage_unavailable": {"ko": "파일 저장소를 사용할 수 없습니다.", "en": "File storage is unavailable."},
    "maintenance": {"ko": "점검 중입니다.", "en": "The service is under maintenance."},
    "feature_off": {
        "ko": "이 기능은 잠시 사용할 수 없습니다.",
        "en": "This function is temporarily switched off.",
    },
    "team_full": {"ko": "팀 인원이 가득 찼습니다 (최대 20명).", "en": "The team is full (20 members at most)."},
    "team_member_exists": {"ko": "이미 팀에 속한 사람입니다.", "en": "Already an active member of the team."},
    "team_leader_required_to_stay": {
        "ko": "다른 팀장을 먼저 지정해야 팀장을 뺄 수 있습니다.",
        "en": "Set another leader before removing the leader.",
    },
    "team_has_draft_report": {
        "ko": "작성 중인 청소 보고서가 있어 해산할 수 없습니다.",
        "en": "The team has a cleaning report in draft; it cannot be disbanded.",
    },
    "job_full": {"ko": "남은 자리가 없습니다.", "en": "No places are left."},
    "slot_closed": {"ko": "모집이 마감되었습니다.", "en": "This slot is closed."},
    "phone_change_pending": {
        "ko": "처리 중인 전화번호 변경 요청이 있습니다.",
        "en": "A phone change request is already pending.",
    },
    "collector_unverified": {
        "ko": "차량 정보가 인증되지 않은 수거자입니다.",
        "en": "Your vehicle profile has not been verified yet.",
    },
    "team_leader_required": {"ko": "팀장만 할 수 있습니다.", "en": "Only the team leader can do this."},
    "method_not_allowed": {
        "ko": "이 주소에서 지원하지 않는 요청 방식입니다.",
        "en": "This method is not allowed here.",
    },
    "component_unavailable": {"ko": "사용할 수 없습니다.", "en": "Unavailable."},
    # ---- field problems (error.details[].message) -------------------------------------------
    "body_not_json": {"ko": "본문이 올바른 JSON이 아닙니다.", "en": "The body is not valid JSON."},
    "body_not_utf8": {"ko": "본문이 UTF-8이 아닙니다.", "en": "The body is not UTF-8."},
    "body_unreadable": {"ko": "본문을 읽을 수 없습니다.", "en": "The body cannot be parsed."},
    "value_out_of_range": {
        "ko": "값이 너무 길거나 허용 범위를 벗어났습니다.",
        "en": "A value is too long or out of range.",
    },
    "field_required": {"ko": "필수 항목입니다.", "en": "This field is required."},
    "field_unknown": {"ko": "알 수 없는 항목입니다.", "en": "Unknown field."},
    "must_be_integer": {"ko": "정수여야 합니다.", "en": "Must be an integer."},
    "must_be_number": {"ko": "숫자여야 합니다.", "en": "Must be a number."},
    "must_be_boolean": {"ko": "true 또는 false여야 합니다.", "en": "Must be true or false."},
    "must_be_string": {"ko": "문자열이어야 합니다.", "en": "Must be a string."},
    "must_be_list": {"ko": "목록이어야 합니다.", "en": "Must be a list."},
    "must_be_object": {"ko": "객체여야 합니다.", "en": "Must be an object."},
    "string_too_short": {
        "ko": "{min_length}자 이상 입력해 주세요.",
        "en": "Must be at least {min_length} characters.",
    },
    "string_too_long": {
        "ko": "{max_length}자 이하로 입력해 주세요.",
        "en": "Must be at most {max_length} characters.",
    },
    "too_few_items": {"ko": "{min_length}개 이상이어야 합니다.", "en": "Must have at least {min_length} items."},
    "too_many_items": {"ko": "{max_length}개 이하여야 합니다.", "en": "Must have at most {max_length} items."},
    "invalid_format": {"ko": "형식이 올바르지 않습니다.", "en": "The format is not valid."},
    "greater_than": {"ko": "{gt}보다 커야 합니다.", "en": "Must be greater than {gt}."},
    "greater_than_equal": {"ko": "{ge} 이상이어야 합니다.", "en": "Must be at least {ge}."},
    "less_than": {"ko": "{lt}보다 작아야 합니다.", "en": "Must be less than {lt}."},
    "less_than_equal": {"ko": "{le} 이하여야 합니다.", "en": "Must be at most {le}."},
    "decimal_max_places": {
        "ko": "소수점 이하 {decimal_places}자리까지 입력할 수 있습니다.",
        "en": "At most {decimal_places} decimal places.",
    },
    "decimal_max_digits": {"ko": "최대 {max_digits}자리 숫자입니다.", "en": "At most {max_digits} digits."},
    "must_be_one_of": {"ko": "허용되는 값: {expected}", "en": "Must be one of {expected}."},
    "invalid_datetime": {
        "ko": "날짜와 시간 형식이 올바르지 않습니다 (예: 2026-05-01T09:30:00+09:00).",
        "en": "Not a valid date and time (e.g. 2026-05-01T09:30:00+09:00).",
    },
    "datetime_needs_offset": {
        "ko": "시간대(오프셋)가 포함된 시각이어야 합니다.",
        "en": "The time must carry a UTC offset.",
    },
    "invalid_date": {
        "ko": "날짜 형식이 올바르지 않습니다 (예: 2026-05-01).",
        "en": "Not a valid date (e.g. 2026-05-01).",
    },
    "invalid_uuid": {"ko": "UUID 형식이 올바르지 않습니다.", "en": "Not a valid UUID."},
    "invalid_url": {"ko": "URL 형식이 올바르지 않습니다.", "en": "Not a valid URL."},
    # ---- lists (paging, sort, filter) --------------------------------------------------------
    "page_min": {"ko": "page는 1부터 시작합니다.", "en": "page starts at 1."},
    "size_range": {"ko": "size는 1에서 100 사이여야 합니다.", "en": "size must be between 1 and 100."},
    "unknown_sort_field": {"ko": "정렬할 수 없는 항목입니다: {name}", "en": "Unknown sort field: {name}"},
    "sort_direction": {"ko": "정렬 방향은 asc 또는 desc입니다: {name}", "en": "Direction must be asc or desc: {name}"},
    "unknown_filter_field": {"ko": "필터할 수 없는 항목입니다: {name}", "en": "Unknown filter field: {name}"},
    "filter_syntax": {
        "ko": "필터는 field=value 형식입니다: {name}",
        "en": "A filter is written field=value: {name}",
    },
    "invalid_filter_value": {"ko": "필터 값이 올바르지 않습니다: {name}", "en": "Invalid value for filter: {name}"},
}

LANGUAGES = ("ko", "en")
DEFAULT_LANGUAGE = "ko"


class _KeepMissing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def pick_language(accept_language: str | None) -> str:
    """The supported language the client prefers most (``q`` weights honoured); Korean by default."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, *options = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        primary = tag.lower().split("-")[0]
        if weight > 0 and primary in LANGUAGES:
            ranked.append((-weight, index, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The catalogue text of ``key`` in ``lang`` (Korean when missing); ``key`` itself when it is
    not a catalogue key (a literal message). Unknown placeholders are left as they are."""
    entry = MESSAGES.get(key)
    text = key if entry is None else (entry.get(lang) or entry[DEFAULT_LANGUAGE])
    if not params:
        return text
    try:
        return text.format_map(_KeepMissing(params))
    except (ValueError, IndexError, AttributeError):
        return text
