"""What every admin screen's form shares: the values being edited and the ones last saved (so
unsaved edits are marked and guarded), errors next to their field, a confirmation on success.

A form is a dict of text values (`form`), edited through `edit(field, value)`; each screen says
which fields it has and how long each may be (`_fields`). Switches are "1" / "0"."""

from __future__ import annotations

import reflex as rx

from online_contact.models.agent import ROLE_ADMIN
from online_contact.services.text import as_text

from .guard import require_role
from .lang import tr


class AdminFormMixin(rx.State, mixin=True):
    form: dict[str, str] = {}
    saved: dict[str, str] = {}
    errors: dict[str, str] = {}
    notice: str = ""

    def _fields(self) -> dict[str, int]:
        """Field name -> maximum length, for this screen's form."""
        return {}

    @rx.var
    def dirty(self) -> bool:
        """True while the form differs from what was last saved (저장되지 않은 변경)."""
        return self.form != self.saved

    def _read(self, session) -> dict[str, str]:
        """The form's values as stored now."""
        return {}

    def _forget_screen(self) -> None:
        """The login ended (realtime.logins): nothing of the form stays in the tab."""
        self.form, self.saved, self.errors, self.notice = {}, {}, {}, ""

    def _load(self) -> None:
        """Fill the form from the database (a screen's loader)."""
        from online_contact.services.db import session_scope

        with session_scope() as session:
            self._fill(self._read(session))
        self.notice = ""

    def _fill(self, values: dict[str, str]) -> None:
        self.form, self.saved, self.errors = dict(values), dict(values), {}

    async def _refused(self, exc) -> None:
        """A save was refused (nothing changed): each wrong field's message beside it (FormErrors),
        else the one message under the form."""
        from online_contact.services.errors import FormErrors

        from .lang import tr_error

        if isinstance(exc, FormErrors):
            self.errors = {field: await tr_error(self, err) for field, err in exc.errors.items()}
        else:
            self.errors = {"form": await tr_error(self, exc)}
        self.notice = ""

    async def _field_error(self, field: str, key: str, **params) -> None:
        self.errors = {**self.errors, field: await tr(self, key, **params)}

    @rx.event
    @require_role(ROLE_ADMIN)
    async def edit(self, field: str = "", value: str = ""):
        """A field changed: kept when it fits (text of at most its length, or a switch)."""
        fields = self._fields()
        if field not in fields:
            return
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, str):
            text = value
        else:
            text = as_text(value)
        if len(text) > fields[field]:
            await self._field_error(field, "error.text_too_long", max=fields[field])
            return
        self.form = {**self.form, field: text}
        if field in self.errors:
            self.errors = {k: v for k, v in self.errors.items() if k != field}
        self.notice = ""

    @rx.event
    @require_role(ROLE_ADMIN)
    def discard(self):
        """되돌리기: back to what was last saved."""
        self.form, self.errors, self.notice = dict(self.saved), {}, ""
