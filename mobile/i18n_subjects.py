"""UI texts of one vendor, one history (issue #22) on the phone, zh and en."""

from __future__ import annotations

ZH: dict[str, str] = {
    "subject.likely.title": "可能是同一当事人",
    "subject.likely.why.phone": "电话相同",
    "subject.likely.why.plate": "车牌相同",
    "subject.likely.why.id": "身份证号相同",
    "subject.likely.why.name": "名称相近",
    "subject.likely.use": "就是此人",
    "subjects.edits": "修改记录",
    "subjects.edit_line": "第 {version} 版 · {at} · {badge} · {fields}",
    "subject.id_number": "身份证号",
}
EN: dict[str, str] = {
    "subject.likely.title": "Possibly the same subject",
    "subject.likely.why.phone": "same phone",
    "subject.likely.why.plate": "same plate",
    "subject.likely.why.id": "same ID number",
    "subject.likely.why.name": "similar name",
    "subject.likely.use": "This is them",
    "subjects.edits": "Edits",
    "subjects.edit_line": "Version {version} · {at} · {badge} · {fields}",
    "subject.id_number": "ID number",
}
