"""채팅 기록's 데이터 추출: the reason (and file password) asked first, the file written by a
background job beside the screen, its progress, and the download link (services.export)."""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from online_contact.models import Agent
from online_contact.models.agent import ROLE_AGENT
from online_contact.services import export as export_service
from online_contact.services import history
from online_contact.services import settings as settings_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError

from .guard import require_role
from .lang import tr, tr_error

logger = logging.getLogger("online_contact.export")
# Exports checked by start_export and not yet taken by run_export, by export id (this process:
# the background event runs where the tab's event did); and the logins with one running.
_JOBS: dict[str, dict] = {}
_RUNNING: set[int] = set()


class ExportDialogMixin(rx.State, mixin=True):
    """What components/export_dialog.py shows, for 채팅 기록's and 통계's 데이터 추출."""

    export_open: bool = False
    export_password_required: bool = False
    export_error: str = ""
    export_url: str = ""
    export_expires: str = ""

    @rx.event
    @require_role(ROLE_AGENT)
    def set_export_open(self, value: bool = False):
        self.export_open = value is True

    def _read_password_rule(self, session) -> None:
        self.export_password_required = settings_service.get_settings(session).export_password_required


class HistoryExportMixin(ExportDialogMixin, mixin=True):
    """데이터 추출 of the search on screen (`search`, as the state using it loads it from the URL)."""

    export_count: int = 0
    export_running: bool = False
    export_done: int = 0
    export_intro: str = ""
    _export_job: dict = {}

    def _forget_export(self) -> None:
        self.export_open = self.export_running = False
        self.export_url, self.export_error, self._export_job = "", "", {}

    def _conditions(self) -> history.Conditions:
        """The search on screen (as loaded from the URL)."""
        return history.parse_conditions(dict(self.search))

    @rx.event
    @require_role(ROLE_AGENT)
    async def open_export(self):
        """데이터 추출: asks for the reason (and the file password) first."""
        with session_scope() as session:
            agent = self._agent(session)
            if agent is None:
                return
            count = history.count(session, agent, self._conditions())
            self._read_password_rule(session)
        if not self.export_running:
            self.export_count = count
        self.export_intro = await tr(self, "export_intro", n=f"{count:,}")
        self.export_error = ""
        if not self.export_running:
            self.export_url, self.export_done = "", 0
        self.export_open = True

    @rx.event
    @require_role(ROLE_AGENT)
    async def start_export(self, form_data: dict | None = None):
        """추출 시작: checks the request, then the file is written beside the screen (run_export)."""
        form = form_data if isinstance(form_data, dict) else {}
        if self.export_running:
            self.export_error = await tr(self, "error.export_running")
            return
        try:
            with session_scope() as session:
                agent = self._agent(session)
                if agent is None:
                    return
                required = settings_service.get_settings(session).export_password_required
                reason, password = export_service.check_request(form.get("reason"), form.get("password"), required)
                conditions = self._conditions()
                total = history.count(session, agent, conditions)
                if not total:
                    raise ServiceError("error.export_empty")
                agent_id, login_id = agent.id, self._login_id
        except ServiceError as exc:
            self.export_error = await tr_error(self, exc)
            return
        if login_id in _RUNNING:  # one export at a time per login, however many tabs
            self.export_error = await tr(self, "error.export_running")
            return
        self.export_error, self.export_url, self.export_done = "", "", 0
        self.export_count, self.export_running = total, True
        export_id = export_service.new_export_id()
        # The job (and its password) stays in this process, never in the stored tab state.
        _JOBS[export_id] = {
            "id": export_id, "agent_id": agent_id, "login_id": login_id, "reason": reason,
            "password": password, "query": conditions.to_query(), "ip": self.router.session.client_ip or "",
        }
        self._export_job = {"id": export_id}
        return type(self).run_export

    @rx.event(background=True)
    @require_role(ROLE_AGENT)
    async def run_export(self):
        """Writes the file in a thread and shows its progress. Runs only the job that start_export
        checked and queued for this tab (a client sending this event itself gets nothing)."""
        async with self:
            queued, self._export_job = dict(self._export_job), {}
            login_id = self._login_id
        job = _JOBS.pop(queued.get("id", ""), None)
        # Only this tab's login's own job (a tab whose login changed since starts nothing).
        if not job or job["login_id"] != login_id or login_id in _RUNNING:
            if queued:
                async with self:
                    self.export_running = False
                    if job is not None and login_id in _RUNNING:
                        self.export_error = await tr(self, "error.export_running")
            return
        _RUNNING.add(login_id)
        try:
            await self._run_job(job)
        finally:
            _RUNNING.discard(login_id)

    async def _run_job(self, job: dict) -> None:
        progress = {"done": 0}

        def work():
            export_service.remove_expired()
            with session_scope() as session:
                agent = session.get(Agent, job["agent_id"])
                conditions = history.parse_conditions(job["query"])
                return export_service.run(
                    session, agent, conditions, reason=job["reason"], password=job["password"], ip=job["ip"],
                    export_id=job["id"], login_id=job["login_id"],
                    progress=lambda n: progress.__setitem__("done", n),
                )

        task = asyncio.get_running_loop().run_in_executor(None, work)
        while not task.done():
            await asyncio.wait({task}, timeout=0.5)
            async with self:
                self.export_done = progress["done"]
        try:
            result = task.result()
        except Exception:  # noqa: BLE001 - the reader gets a message; the log the details
            logger.exception("export %s failed", job["id"])
            async with self:
                self.export_running = False
                self.export_error = await tr(self, "error.export_failed")
            return
        async with self:
            self.export_running = False
            self.export_done = result.chats
            self.export_expires = await tr(self, "export_expires", minutes=export_service.link_minutes())
            self.export_url = f"/api/export/{job['id']}"
