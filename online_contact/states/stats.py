"""통계 (/stats): a period's figures (services.stats), compared with the period before, each
linked to the 채팅 기록 search of exactly its chats. Admins see everyone; an agent their own."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

import reflex as rx

from online_contact import routes
from online_contact.config import local_time
from online_contact.models import Agent
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT
from online_contact.models.chat import CHANNEL_HELP_CENTER
from online_contact.realtime.publish import link_desk
from online_contact.services import export as export_service
from online_contact.services import export_stats
from online_contact.services import history, live, stats
from online_contact.services import settings as settings_service
from online_contact.services.chats import PROCESSED, UNPROCESSED
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError

from .auth import AuthState
from .guard import require_role
from .history_export import _RUNNING, ExportDialogMixin
from .lang import tr, tr_error

PERIODS = ("today", "yesterday", "7d", "30d")
EARLIEST = date(2000, 1, 1)
LIVE_SECONDS = 10  # at most this often the live figures and today's cards are recomputed
MAX_DAYS = 366
SORTS = {
    "agents": ("name", "assigned", "processed", "wait", "handle", "satisfaction", "online", "break"),
    "categories": ("path", "count"),
    "channels": ("channel", "count", "processed"),
}


def period_of(params: dict) -> tuple[str, stats.Period]:
    """The period of the URL: ?period=today|yesterday|7d|30d, or ?from=&to= (local days)."""
    today = history.today()
    key = params.get("period", "") if isinstance(params.get("period", ""), str) else ""
    start = history._date(params.get("from", "")) if isinstance(params.get("from"), str) else None
    end = history._date(params.get("to", "")) if isinstance(params.get("to"), str) else None
    if key not in PERIODS and start and end:
        start, end = min(start, end), max(start, end)
        # Days a contact center can have chats on (and dates the computations can step past).
        start, end = max(start, EARLIEST), min(end, today + timedelta(days=1))
        start = min(start, end)
        return "custom", stats.Period(max(start, end - timedelta(days=MAX_DAYS - 1)), end)
    if key == "today":
        return key, stats.Period(today, today)
    if key == "yesterday":
        return key, stats.Period(today - timedelta(days=1), today - timedelta(days=1))
    if key == "30d":
        return key, stats.Period(today - timedelta(days=29), today)
    return "7d", stats.Period(today - timedelta(days=6), today)


def _count(n: int) -> str:
    return f"{n:,}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _secs(value: float | None) -> str:
    return "–" if value is None else history.duration_text(int(round(value)))


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _delta(now: float | None, before: float | None, kind: str) -> tuple[str, str]:
    """(▲ / ▼ and the difference, its direction) against the previous period."""
    if now is None or before is None or now == before:
        return ("–" if now is None or before is None else "0", "same")
    diff = now - before
    arrow = "▲" if diff > 0 else "▼"
    text = {"count": f"{abs(diff):,.0f}", "pct": f"{abs(diff) * 100:.1f}%p", "secs": history.duration_text(int(round(abs(diff)))),
            "score": f"{abs(diff):.2f}"}[kind]
    return f"{arrow} {text}", "up" if diff > 0 else "down"


class StatsState(ExportDialogMixin, AuthState):
    """(데이터 추출 of the tables, services.export_stats.run_stats: ExportDialogMixin's dialog.)"""

    period_key: str = "7d"
    date_from: str = ""
    date_to: str = ""
    is_admin: bool = False
    one_day: bool = False
    cards: list[dict[str, str]] = []
    days: list[dict[str, str | int | float | None]] = []
    buckets: list[dict[str, str | int]] = []
    distribution: list[dict[str, str | int]] = []
    week: list[list[dict[str, str]]] = []  # 요일 (Monday first) × 시간대
    weekdays: list[str] = []
    agent_rows: list[dict[str, str | int | float]] = []
    category_rows: list[dict[str, str | int | float]] = []
    channel_rows: list[dict[str, str | int | float]] = []
    sorts: dict[str, str] = {"agents": "name", "categories": "", "channels": "count"}
    # 실시간: now, refreshed by the page's tick (LIVE_SECONDS); the period's figures too while it
    # includes today.
    live: dict[str, str] = {}
    live_agents: list[dict[str, str]] = []
    includes_today: bool = False
    updated: str = ""
    _last_tick: float = 0.0

    def _forget_screen(self) -> None:
        self.live, self.live_agents = {}, []
        self.export_open, self.export_url, self.export_error = False, "", ""
        self.cards, self.days, self.buckets, self.distribution, self.week = [], [], [], [], []
        self.agent_rows, self.category_rows, self.channel_rows = [], [], []

    def _href(self, period: stats.Period, **conditions) -> str:
        return routes.HISTORY + "?" + urlencode(stats.history_query(period, **conditions))

    @rx.event
    @require_role(ROLE_AGENT)
    async def load_stats(self):
        """on_load: the period of the URL, computed in a worker thread (the event loop serves
        every other tab meanwhile)."""
        key, period = period_of(dict(self.router.url.query_parameters))
        with session_scope() as session:
            agent = self._agent(session)
            if agent is None:
                return
            agent_id, is_admin, login_id = agent.id, agent.role == ROLE_ADMIN, self._login_id

        def compute():
            with session_scope() as session:
                me = session.get(Agent, agent_id)
                return stats.report(session, me, period), live.now_view(session, me)

        report, now = await asyncio.to_thread(compute)
        self.period_key, self.is_admin, self.one_day = key, is_admin, period.days == 1
        self.date_from, self.date_to = period.date_from.isoformat(), period.date_to.isoformat()
        self.includes_today = period.date_to >= history.today()
        await self._fill(report)
        await self._fill_live(now)
        if not is_admin:
            await link_desk(self, agent_id, login_id)  # the agent's top bar

    @rx.event
    @require_role(ROLE_AGENT)
    async def tick(self):
        """The page's timer (every LIVE_SECONDS while visible): 실시간, and the period's figures
        when it includes today. One computation per tick, none per message."""
        if time.time() - self._last_tick < LIVE_SECONDS - 1:
            return  # the page's timer is the only reason to come here this often
        self._last_tick = time.time()
        key, period = period_of(dict(self.router.url.query_parameters))
        with session_scope() as session:
            agent = self._agent(session)
            if agent is None:
                return
            agent_id = agent.id
        refresh = period.date_to >= history.today()
        # Past midnight, 오늘 is another day: the header follows the figures.
        self.period_key, self.one_day = key, period.days == 1
        self.date_from, self.date_to = period.date_from.isoformat(), period.date_to.isoformat()

        def compute():
            with session_scope() as session:
                me = session.get(Agent, agent_id)
                return (stats.report(session, me, period) if refresh else None), live.now_view(session, me)

        report, now = await asyncio.to_thread(compute)
        if report is not None:
            await self._fill(report)
        await self._fill_live(now)

    async def _fill_live(self, now: live.Live) -> None:
        labels = {s: await tr(self, s) for s in now.statuses}
        self.live = {
            "waiting": f"{now.waiting:,}", "longest": history.duration_text(now.longest_wait) or "–",
            "open": f"{now.open_chats:,}",
            "statuses": " · ".join(f"{labels[s]} {n}" for s, n in now.statuses.items()),
        }
        self.live_agents = [
            {"name": a.name, "status": labels.get(a.status, a.status), "open": str(a.open_chats), "unanswered": str(a.unanswered)}
            for a in now.agents
        ]
        self.updated = local_time(datetime.now(timezone.utc), "%H:%M:%S")

    async def _fill(self, r: stats.Report) -> None:
        p, t, b = r.period, r.total, r.previous

        async def card(key, label, value, delta, href, sub="", colour="", detail=None):
            text, direction = delta
            # Whether the change is for the better (fewer abandoned chats, shorter waits).
            lower_is_better = key in ("abandoned", "wait", "handle")
            verdict = "same" if direction == "same" else ("good" if (direction == "down") == lower_is_better else "bad")
            return {"key": key, "label": await tr(self, label), "value": value, "sub": sub, "delta": text,
                    "direction": verdict, "href": href, "tip": await tr(self, stats.DEFINITIONS[key]), "colour": colour,
                    **(detail or {})}

        left, no_reply = await tr(self, "stats_left_waiting"), await tr(self, "stats_no_reply")
        median, p90 = await tr(self, "stats_median"), await tr(self, "stats_p90")
        ratings = await tr(self, "stats_ratings", n=_count(len(t.scores)), share=_pct(t.rated_share))
        self.cards = [
            await card("incoming", "stats_incoming", _count(t.incoming), _delta(t.incoming, b.incoming, "count"), self._href(p)),
            await card("processed", "stats_processed", _count(t.processed), _delta(t.processed, b.processed, "count"),
                       self._href(p, state=PROCESSED)),
            await card("abandoned", "stats_abandoned", _count(t.abandoned), _delta(t.abandoned, b.abandoned, "count"),
                       self._href(p, state=UNPROCESSED), sub=f"{left} {t.left_waiting:,} · {no_reply} {t.no_reply:,}",
                       detail={"left_href": self._href(p, state=history.LEFT_WAITING), "no_reply_href": self._href(p, state=history.NO_REPLY),
                               "left": f"{left} {t.left_waiting:,}", "no_reply": f"{no_reply} {t.no_reply:,}"}),
            await card("response_rate", "stats_response_rate", _pct(t.response_rate), _delta(t.response_rate, b.response_rate, "pct"),
                       self._href(p, state=PROCESSED),
                       colour=stats.rate_colour(round(t.response_rate, 3) if t.response_rate is not None else None)),
            await card("wait", "stats_wait", _secs(t.wait_avg), _delta(t.wait_avg, b.wait_avg, "secs"), self._href(p, replied="1"),
                       sub=f"{median} {_secs(t.wait_median)} · {p90} {_secs(t.wait_p90)}"),
            await card("handle", "stats_handle", _secs(t.handle_avg), _delta(t.handle_avg, b.handle_avg, "secs"), self._href(p, state=PROCESSED)),
            await card("satisfaction", "stats_satisfaction", _score(t.satisfaction), _delta(t.satisfaction, b.satisfaction, "score"),
                       self._href(p, rating="any"), sub=ratings),
            await card("tickets", "stats_tickets", _count(t.tickets), _delta(t.tickets, b.tickets, "count"), self._href(p, ticket="1")),
        ]
        def bar(label, f, period, **clock):
            """One bar of the chart: its numbers and the 채팅 기록 search of each part."""
            return {"label": label, "processed": f.processed, "abandoned": f.abandoned, "in_progress": f.in_progress,
                    "incoming": f.incoming, "satisfaction": round(f.satisfaction, 2) if f.satisfaction is not None else None,
                    "href": self._href(period, **clock), "href_processed": self._href(period, state=PROCESSED, **clock),
                    "href_abandoned": self._href(period, state=UNPROCESSED, **clock),
                    "href_in_progress": self._href(period, state=history.IN_PROGRESS, **clock)}

        if self.one_day:
            self.days = [bar(f"{h:02d}", f, p, hour=str(h)) for h, f in enumerate(r.hours)]
        else:
            self.days = [bar(d.strftime("%m-%d"), f, stats.Period(d, d)) for d, f in r.days]
        bucket_labels = ("< 10s", "10–30s", "30–60s", "1–3m", "> 3m")
        self.buckets = [{"label": bucket_labels[i], "count": n, "href": self._href(p, wait=str(i))}
                        for i, n in enumerate(t.wait_buckets)]
        self.distribution = [{"label": f"{score}", "count": n, "href": self._href(p, rating=str(score))}
                             for score, n in zip(range(1, 6), t.distribution)]
        self.weekdays = [await tr(self, f"stats_dow_{i}") for i in range(7)]
        peak = max((max(row) for row in r.week), default=0) or 1
        self.week = [[{"n": str(n), "alpha": f"{n / peak:.2f}", "dark": "1" if n / peak > 0.5 else "0",
                       "href": self._href(p, dow=str(dow), hour=str(hour))} for hour, n in enumerate(row)]
                     for dow, row in enumerate(r.week)]
        self.agent_rows = [
            {"id": a.agent_id, "name": a.name, "assigned": a.assigned, "processed": a.figures.processed,
             "wait": a.figures.wait_avg or 0, "wait_text": _secs(a.figures.wait_avg),
             "handle": a.figures.handle_avg or 0, "handle_text": _secs(a.figures.handle_avg),
             "satisfaction": a.figures.satisfaction or 0, "satisfaction_text": _score(a.figures.satisfaction),
             "online": a.online_seconds, "online_text": history.duration_text(a.online_seconds),
             "break": a.break_seconds, "break_text": history.duration_text(a.break_seconds),
             "href": self._href(p, agent=str(a.agent_id)), "href_processed": self._href(p, agent=str(a.agent_id), state=PROCESSED),
             "href_assigned": self._href(p, assigned=str(a.agent_id)),
             "href_wait": self._href(p, agent=str(a.agent_id), replied="1"),
             "href_rated": self._href(p, agent=str(a.agent_id), rating="any")}
            for a in r.agents
        ]
        uncategorized = await tr(self, "stats_uncategorized")
        self.category_rows = [
            {"id": c["id"], "path": c["path"] or uncategorized, "depth": c["depth"], "count": c["count"], "share": _pct(c["share"]),
             "href": self._href(p, category=str(c["id"])) if c["id"] else ""}
            for c in r.categories
        ]
        help_center, others = await tr(self, "helpcenter_channel"), await tr(self, "stats_other_pages")
        self.channel_rows = [
            {"channel": help_center if c["channel"] == CHANNEL_HELP_CENTER else others if c["channel"] == "" else c["channel"],
             "count": c["count"], "processed": c["processed"], "share": _pct(c["share"]),
             "href": self._href(p, channel=c["channel"]) if c["channel"] else ""}
            for c in r.channels
        ]
        for table, column in self.sorts.items():
            self._sort(table, column)

    def _sort(self, table: str, column: str) -> None:
        """Numbers largest first, names in order; "" keeps the tree's order (처리유형)."""
        name = {"agents": "agent_rows", "categories": "category_rows", "channels": "channel_rows"}[table]
        if column:
            setattr(self, name, sorted(getattr(self, name), key=lambda row: row[column],
                                       reverse=column not in ("name", "path", "channel")))
        self.sorts = {**self.sorts, table: column}

    @rx.event
    @require_role(ROLE_AGENT)
    def sort_by(self, table: str = "", column: str = ""):
        """A table's column header: sort by it (numbers largest first, names A→Z)."""
        if table in SORTS and column in SORTS[table]:
            self._sort(table, column)

    @rx.event
    @require_role(ROLE_AGENT)
    def pick_period(self, form_data: dict | None = None):
        """조회 with a custom from–to: the period goes into the URL."""
        form = form_data if isinstance(form_data, dict) else {}
        start, end = history._date(form.get("from", "")), history._date(form.get("to", ""))
        if not start or not end:
            return
        return rx.redirect(routes.STATS + "?" + urlencode({"from": min(start, end).isoformat(), "to": max(start, end).isoformat()}))

    @rx.event
    @require_role(ROLE_AGENT)
    def open_export(self):
        """데이터 추출: asks for the reason (and the file password) first."""
        with session_scope() as session:
            if self._agent(session) is None:
                return
            self._read_password_rule(session)
        self.export_error, self.export_url, self.export_open = "", "", True

    @rx.event
    @require_role(ROLE_AGENT)
    async def start_export(self, form_data: dict | None = None):
        """추출: the period on screen (its URL), for this login's own figures, audited."""
        form = form_data if isinstance(form_data, dict) else {}
        _key, period = period_of(dict(self.router.url.query_parameters))
        try:
            with session_scope() as session:
                agent = self._agent(session)
                if agent is None:
                    return
                required = settings_service.get_settings(session).export_password_required
                reason, password = export_service.check_request(form.get("reason"), form.get("password"), required)
                agent_id, login_id = agent.id, self._login_id
        except ServiceError as exc:
            self.export_error = await tr_error(self, exc)
            return
        if login_id in _RUNNING:  # one export at a time per login (채팅 기록's too)
            self.export_error = await tr(self, "error.export_running")
            return
        export_id, ip = export_service.new_export_id(), self.router.session.client_ip or ""

        def work():
            export_service.remove_expired()
            with session_scope() as session:
                me = session.get(Agent, agent_id)
                return export_stats.run_stats(session, me, stats.report(session, me, period), reason=reason,
                                                password=password, ip=ip, export_id=export_id, login_id=login_id)

        _RUNNING.add(login_id)
        try:
            await asyncio.to_thread(work)
        finally:
            _RUNNING.discard(login_id)
        self.export_error = ""
        self.export_expires = await tr(self, "export_expires", minutes=export_service.link_minutes())
        self.export_url = f"/api/export/{export_id}"

    @rx.event
    @require_role(ROLE_AGENT)
    def go(self, href: str = ""):
        """A chart's bar: 채팅 기록 on its chats. Only a 채팅 기록 search, whatever a client sends
        (the list then shows only what the caller may see)."""
        if isinstance(href, str) and href.startswith(routes.HISTORY + "?") and len(href) <= 4000 and "\n" not in href:
            return rx.redirect(href)
