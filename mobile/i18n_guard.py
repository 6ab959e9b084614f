"""Texts of refusals that keep what the officer entered (a tap on the wrong button, a second tap, a tap
after a sign-out), Chinese and English; merged into ``mobile.i18n``."""

from __future__ import annotations

ZH: dict[str, str] = {
    "case.save.no_draft": "没有要保存的草稿：这份案件已保存或已放弃",
    "case.save.photos_busy": "照片还在处理中，处理完成后再保存",
    "case.photos.draft_gone": "照片处理完时，这份草稿已保存或已放弃，照片未加入",
    "case.amend.draft_open": "还有未保存的草稿：请先保存或放弃它，再修改被退回的案件",
    "error.card.reason": "原因：{reason}",
}

EN: dict[str, str] = {
    "case.save.no_draft": "Nothing to save: this case was already saved or discarded",
    "case.save.photos_busy": "A photo is still being processed: save once it is done",
    "case.photos.draft_gone": "The draft was saved or discarded while the photo was processed: not added",
    "case.amend.draft_open": "An unsaved draft is open: save or discard it before amending a returned case",
    "error.card.reason": "Reason: {reason}",
}
