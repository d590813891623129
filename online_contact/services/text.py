"""What a client may send, made safe before anything uses it: the one place for field lengths,
text hygiene, ids and form fields (a client can send any event with any arguments).

- `clean` removes control characters other than newline and tab, and the bidi controls that
  can disguise text (U+202A–202E, U+2066–2069), from everything stored: messages, names, memos,
  inquiries, tickets, ratings.
- `LIMITS` are the maximum lengths, checked on the server whatever the page's maxlength says.
- `parse_id` turns a client's id into an int the database can hold, or 0.
- `form_text` reads a form field of any type as text, never more than a bound of it.
"""

from __future__ import annotations

import re

LIMITS = {
    "message": 2000,
    "name": 100,
    "email": 254,
    "memo": 2000,
    "subject": 200,
    "body": 10000,
    "comment": 1000,
    "channel": 2000,
    "password": 1024,
    "client_id": 64,
}

# C0 controls but tab and newline, DEL, C1 controls; bidi embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MAX_DB_ID = 2**63 - 1
# A form field is read at most this long: a tab can send a megabyte, nothing keeps it. Far longer
# than every limit above, so that a too-long text is refused with its real length (the socket's
# message limit, OC_MAX_EVENT_BYTES, is smaller anyway).
READ_AT_MOST = 100_000


def clean(text: str) -> str:
    """`text` without unsafe control and bidi characters (CR LF and lone CR become LF)."""
    return _UNSAFE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def as_text(value, keep: int = READ_AT_MOST) -> str:
    """A client's value as text: strings as they are, numbers written out, anything else empty.
    At most `keep` characters are kept."""
    if isinstance(value, str):
        return value[:keep]
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)[:keep]
    return ""


def form_text(form_data, name: str, keep: int = READ_AT_MOST) -> str:
    """The field `name` of a submitted form, as text ('' when the form is not a form)."""
    if not isinstance(form_data, dict):
        return ""
    return as_text(form_data.get(name), keep)


def parse_id(value) -> int:
    """A record id from a client: a positive int (or digit string) the database can hold, else 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or len(value) > 19:
            return 0
        value = int(value)
    if not isinstance(value, int) or not 0 < value <= MAX_DB_ID:
        return 0
    return value


def too_long(value: str, field: str) -> bool:
    return len(value) > LIMITS[field]
