"""통계's 데이터 추출: its figures and tables as an Excel file, written and handed out as 채팅 기록's
are (services/export.py: the same inert cells, download record and audit)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session
from openpyxl import Workbook

from online_contact.models import Agent
from online_contact.models.chat import CHANNEL_HELP_CENTER

from . import audit
from .export import _sheet, _store

def _seconds_or_none(value: float | None) -> timedelta | None:
    return timedelta(seconds=int(round(value))) if value is not None else None


def write_stats_xlsx(report, path: Path, labels: dict[str, str]) -> None:
    """통계's figures and tables as .xlsx: 요약 (with the previous period), 일별, 상담원별,
    처리유형별, 채널별. The same writer and the same inert text as 채팅 기록."""
    t, b = report.total, report.previous
    book = Workbook(write_only=True)
    summary, cells = _sheet(book, "요약", (("지표", 22), ("값", 14), ("이전 기간", 14)))
    period = f"{report.period.date_from.isoformat()} – {report.period.date_to.isoformat()}"
    summary.append(["기간", period, f"{report.period.previous().date_from.isoformat()} – {report.period.previous().date_to.isoformat()}"])
    for name, now, before in (
        ("인입", t.incoming, b.incoming), ("응대", t.processed, b.processed), ("포기", t.abandoned, b.abandoned),
        ("대기 중 이탈", t.left_waiting, None), ("무응답", t.no_reply, None),
        ("응답률", cells.percent(t.response_rate), cells.percent(b.response_rate)),
        ("평균 대기 시간", _seconds_or_none(t.wait_avg), _seconds_or_none(b.wait_avg)),
        ("대기 시간 중앙값", _seconds_or_none(t.wait_median), None), ("대기 시간 90%", _seconds_or_none(t.wait_p90), None),
        ("평균 상담 시간", _seconds_or_none(t.handle_avg), _seconds_or_none(b.handle_avg)),
        ("만족도", t.satisfaction, b.satisfaction), ("평가 수", len(t.scores), None), ("평가율", cells.percent(t.rated_share), None),
        ("티켓 전환", t.tickets, b.tickets),
    ):
        summary.append([name, now, before])
    daily, _ = _sheet(book, "일별", (("날짜", 12), ("인입", 8), ("응대", 8), ("포기", 8), ("진행중", 8), ("만족도", 8)))
    for day, f in report.days:
        daily.append([day, f.incoming, f.processed, f.abandoned, f.in_progress, f.satisfaction])
    agents, agent_cells = _sheet(book, "상담원별", (("상담원", 20), ("배정", 8), ("응대", 8), ("평균 대기 시간", 14),
                                                ("평균 상담 시간", 14), ("만족도", 8), ("온라인 시간", 12), ("휴식 시간", 12)))
    for a in report.agents:
        agents.append([agent_cells.text(a.name), a.assigned, a.figures.processed, _seconds_or_none(a.figures.wait_avg),
                       _seconds_or_none(a.figures.handle_avg), a.figures.satisfaction,
                       timedelta(seconds=a.online_seconds), timedelta(seconds=a.break_seconds)])
    kinds, kind_cells = _sheet(book, "처리유형별", (("처리유형", 40), ("건수", 8), ("비율", 8)))
    for c in report.categories:
        kinds.append([kind_cells.text(c["path"]), c["count"], kind_cells.percent(c["share"])])
    channels, channel_cells = _sheet(book, "채널별", (("채널", 60), ("건수", 8), ("응대", 8), ("비율", 8)))
    for c in report.channels:
        channels.append([channel_cells.text(labels.get(c["channel"], c["channel"])), c["count"], c["processed"],
                         channel_cells.percent(c["share"])])
    book.save(path)


def run_stats(session: Session, agent: Agent, report, *, reason: str, password: str, ip: str, export_id: str,
              login_id: int) -> Path:
    """통계's 데이터 추출: the file, its password, its download record, the audit entry."""
    path = _store(export_id, lambda p: write_stats_xlsx(report, p, {CHANNEL_HELP_CENTER: "헬프센터"}),
                  password=password, agent=agent, login_id=login_id, name="chat-statistics")
    session.commit()
    audit.record(session, "export.stats", actor_id=agent.id, target_type="stats", ip=ip, reason=reason,
                 detail=json.dumps({"from": report.period.date_from.isoformat(), "to": report.period.date_to.isoformat(),
                                    "chats": report.total.incoming, "password": bool(password)}, ensure_ascii=False))
    return path
