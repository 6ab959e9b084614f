"""Case detail: every field, the photos, versions and the squad leader's review; HQ's stage and HQ's reason
for it when HQ's stage differs; the guidance to a 疏导点 and the street class / grid when the case carries
them; amend a returned case."""

from __future__ import annotations

from typing import Any

import flet as ft

from enforcement.labels import subject_plate
from enforcement.zones import STREET_CLASS_TEXT
from mobile.theme import TOUCH
from mobile.views.common import (
    Host,
    big_button,
    chip,
    code_icon,
    day_time,
    screen_column,
    sync_badge,
    title,
    violation_label,
)


class CaseDetailView:
    def __init__(self, shell: Host, case_id: str) -> None:
        self.shell = shell
        self.app = shell.app
        self.case_id = case_id
        self.error = ""
        self.viewing: str | None = None  # the photo shown full screen (its SHA-256), None: the case

    def build(self) -> ft.Control:
        s = self.shell
        if self.viewing is not None:
            return self.viewer(self.viewing)
        back = ft.TextButton(
            s.t("nav.back"), icon=ft.Icons.ARROW_BACK, on_click=lambda e: s.go("today"), height=TOUCH
        )
        view = self.app.detail.load(self.case_id)
        if view is None:
            return ft.Column([ft.Row([back, title(s.t("detail.title"))]), ft.Text(s.t("detail.not_found"))])
        case = view.case
        loc = case.location
        place = " · ".join(
            p
            for p in (
                loc.address,
                f"GPS {loc.lat:.5f}, {loc.lon:.5f} (±{loc.accuracy_m or 0:.0f})" if loc.has_fix else "",
                loc.no_fix_reason,
            )
            if p
        )
        subject = view.subject
        who = (
            " · ".join(
                b for b in (subject.name, subject_plate(subject), subject.phone, subject.description) if b
            )
            if subject
            else s.t("case.subject.unknown_chosen")
        )
        rows: list[tuple[str, str]] = [
            (s.t("detail.case_no"), f"{case.case_no} · {s.t('detail.version', version=case.version)}"),
            (s.t("detail.occurred_at"), day_time(case.occurred_at)),
            (s.t("detail.violation"), violation_label(self.app.catalogue, case.violation_code, s.lang)),
            (s.t("detail.location"), place or "—"),
            (s.t("detail.subject"), who),
            (s.t("detail.disposition"), s.t(f"disposition.{case.disposition.value}")),
        ]
        if view.guided_spot_name:  # 引导至疏导点 (the disposition stays 劝离)
            rows.append((s.t("detail.guidance"), s.t("detail.guided_to", name=view.guided_spot_name)))
        if view.street_class is not None:
            zh, _, en, _ = STREET_CLASS_TEXT[view.street_class]
            street_class = zh if s.lang == "zh" else en
            line = f"{view.street_name} · {street_class}" if view.street_name else street_class
            rows.append((s.t("detail.street"), line))
        if loc.grid_cell:  # its own row (zones fill it from the fix; the officer may type one)
            rows.append((s.t("detail.grid"), loc.grid_cell))
        if case.stage_override_reason:
            rows.append((s.t("detail.stage_override"), case.stage_override_reason))
        if case.fine_yuan is not None:
            rows.append((s.t("case.fine"), str(case.fine_yuan)))
        for key, value in (
            ("case.legal_basis", case.legal_basis),
            ("case.warning_notice_no", case.warning_notice_no),
            ("case.rectify_deadline", case.rectify_deadline.isoformat() if case.rectify_deadline else ""),
            ("case.referred_to", case.referred_to),
            ("case.seizure.receipt", case.seizure_receipt_no),
            ("case.seizure.second_officer", case.second_officer_badge),
            ("case.notes", case.notes),
        ):
            if value:
                rows.append((s.t(key), value))
        if case.seized_items:
            items = "，".join(s.t("detail.item", kind=i.kind, quantity=i.quantity) for i in case.seized_items)
            rows.append((s.t("detail.seized"), items))
        # The values sit in one SelectionArea as plain texts: Flutter keeps a plain Text's semantics (a
        # screen reader, and the e2e harness, read it) while the area still lets the officer select and
        # copy them (the case number above all). A Text(selectable=True) becomes an empty text field in
        # Flutter web's semantics tree.
        values: list[ft.Control] = [
            ft.Row(
                [
                    code_icon(self.app.catalogue, case.violation_code, 40),
                    chip(case.chosen_stage, s.lang, large=True),
                ]
            ),
            ft.Row([ft.Text(s.t("detail.sync_state"), size=14), sync_badge(view.sync_state, s.lang)]),
        ]
        reason = view.stage_reason(s.lang)
        if reason:  # why the phone computed its stage (the earlier cases it counted)
            values.append(ft.Text(s.t("detail.stage_reason", reason=reason), size=14, key="stage_reason"))
        if view.hq_stage is not None and view.hq_differs:
            values.append(ft.Row([ft.Text(s.t("detail.hq_stage"), size=14), chip(view.hq_stage, s.lang)]))
            basis = view.hq_basis(s.lang)
            if basis:  # why HQ's stage differs: the earlier cases HQ counted
                values.append(ft.Text(s.t("detail.hq_basis", reason=basis), size=14, key="hq_basis"))
        values += [
            ft.Row([ft.Text(k, size=14, width=100), ft.Text(v, size=16, expand=True)]) for k, v in rows
        ]
        if view.review is not None:
            decision = s.t(f"detail.review.{view.review.decision.value}")
            values.append(
                ft.Container(
                    ft.Column(
                        [
                            ft.Text(
                                f"{s.t('detail.review')} · {decision}", size=16, weight=ft.FontWeight.BOLD
                            ),
                            ft.Text(view.review.comment or s.t("none"), size=16),
                        ]
                    ),
                    padding=10,
                    border=ft.Border.all(2, ft.Colors.ERROR if view.can_amend else ft.Colors.OUTLINE),
                    border_radius=8,
                )
            )
        parts: list[ft.Control] = [
            ft.Row([back, title(s.t("detail.title"))]),
            ft.SelectionArea(
                ft.Column(values, spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
                key="case_values",
            ),
        ]
        photos = [self.photo(p.sha256) for p in case.photos]
        if photos:
            parts.append(ft.Text(s.t("detail.photos"), size=16, weight=ft.FontWeight.BOLD))
            parts.append(ft.Row(photos, wrap=True, spacing=8, run_spacing=8))
        if len(view.versions) > 1:
            parts.append(ft.Text(s.t("detail.versions"), size=16, weight=ft.FontWeight.BOLD))
            for version in view.versions:
                when = day_time(version.created_at or version.occurred_at)
                parts.append(
                    ft.TextButton(
                        f"{s.t('detail.version', version=version.version)} · {when}",
                        on_click=lambda e, cid=version.id: s.go("case", cid),
                    )
                )
        if self.error:
            parts.append(ft.Text(self.error, color=ft.Colors.ERROR))
        if view.can_amend:
            parts.append(ft.Row([big_button(s.t("detail.amend"), self.amend, icon=ft.Icons.EDIT)]))
        return screen_column(parts, spacing=10)

    def photo(self, sha256: str) -> ft.Control:
        data = self.app.drafts.thumbnail(sha256)
        if data is None:
            return ft.Column(
                [
                    ft.Icon(ft.Icons.BROKEN_IMAGE, size=48),
                    ft.Text(self.shell.t("detail.photo_missing"), size=12),
                ]
            )
        return ft.Container(
            ft.Image(src=data, width=150, height=150, fit=ft.BoxFit.COVER, border_radius=8),
            on_click=lambda e: self.open_photo(sha256),
            tooltip=self.shell.t("detail.photo_open"),
            key=f"photo_{sha256[:12]}",
        )

    def viewer(self, sha256: str) -> ft.Control:
        """One evidence photo full screen, whole (the watermark the square thumbnail crops is in it),
        pinch or wheel to zoom up to 8×, drag to pan."""
        s = self.shell
        data = self.app.detail.photo(sha256)
        close = ft.TextButton(
            s.t("detail.photo_close"), icon=ft.Icons.CLOSE, on_click=self.close_photo, height=TOUCH
        )
        shown: ft.Control
        if data is None:
            shown = ft.Text(s.t("detail.photo_missing"), size=16)
        else:
            shown = ft.InteractiveViewer(
                ft.Image(src=data, fit=ft.BoxFit.CONTAIN, key="photo_full"),
                min_scale=1,
                max_scale=8,
                boundary_margin=ft.Margin.all(40),
                expand=True,
                key="photo_viewer",
            )
        return ft.Column(
            [
                ft.Row([close, ft.Text(s.t("detail.photo_zoom"), size=14, expand=True)]),
                ft.Container(shown, expand=True, bgcolor=ft.Colors.BLACK, alignment=ft.Alignment.CENTER),
            ],
            expand=True,
            spacing=8,
        )

    def open_photo(self, sha256: str) -> None:
        self.viewing = sha256
        self.shell.render()

    def close_photo(self, e: Any = None) -> None:
        self.viewing = None
        self.shell.render()

    def amend(self, e: Any = None) -> None:
        try:
            self.app.detail.amend(self.case_id)
        except Exception as exc:  # DraftError: not a returned latest version
            self.error = self.shell.error_text(exc)
            self.shell.render()
            return
        self.shell.go("new_case")
