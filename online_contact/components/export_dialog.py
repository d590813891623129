"""데이터 추출's dialog, shared by 채팅 기록 and 통계: the reason (사유) first, a file password if
wanted (or required), then (for a long export) the progress, and a download link that expires.
The state has export_open, export_password_required, export_error, export_url, export_expires,
set_export_open and start_export (and export_running / export_done / export_count for the
progress)."""

from __future__ import annotations

import reflex as rx

from .common import T, error_text


def export_dialog(S, intro: rx.Component, prefix: str, progress: bool = False) -> rx.Component:
    running = S.export_running if progress else False
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["export_title"]),
            rx.dialog.description(intro, size="2"),
            rx.form(
                rx.vstack(
                    rx.el.label(T["export_reason"], html_for=f"{prefix}-reason", font_size="0.85em"),
                    rx.text_area(id=f"{prefix}-reason", name="reason", rows="2", width="100%", max_length=500),
                    rx.el.label(rx.cond(S.export_password_required, T["export_password"], T["export_password_optional"]),
                                html_for=f"{prefix}-password", font_size="0.85em"),
                    rx.input(id=f"{prefix}-password", name="password", type="password", width="100%", max_length=255,
                             auto_complete="new-password", custom_attrs={"aria-describedby": f"{prefix}-password-help"}),
                    rx.text(T["export_password_help"], id=f"{prefix}-password-help", size="1", color=rx.color("gray", 10)),
                    error_text(S.export_error),
                    rx.hstack(
                        rx.dialog.close(rx.button(T["close"], type="button", variant="soft", color_scheme="gray")),
                        rx.button(T["export_start"], type="submit", disabled=running),
                        justify="end",
                        width="100%",
                    ),
                    spacing="2",
                ),
                on_submit=S.start_export,
                reset_on_submit=False,
            ),
            rx.cond(
                running,
                rx.vstack(
                    rx.text(T["export_running"], " ", S.export_done, " / ", S.export_count, size="2", role="status"),
                    rx.progress(value=rx.cond(S.export_count > 0, S.export_done * 100 / S.export_count, 0), max=100,
                                width="100%", aria_label=T["export_running"]),
                    width="100%",
                    margin_top="12px",
                ),
            ) if progress else rx.fragment(),
            rx.cond(
                S.export_url != "",
                rx.vstack(
                    rx.text(T["export_ready"], " ", S.export_expires, size="2", role="status"),
                    rx.link(T["export_download"], href=S.export_url, custom_attrs={"data-authed-download": "true"}),
                    width="100%",
                    margin_top="12px",
                ),
            ),
        ),
        open=S.export_open,
        on_open_change=S.set_export_open,
    )
