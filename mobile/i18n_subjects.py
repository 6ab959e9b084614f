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
    "subject.edit.open": "修改资料",
    "subject.edit.title": "修改当事人资料",
    "subject.edit.save": "保存修改",
    "subject.edit.cancel": "取消",
    "subject.edit.back": "返回当事人",
    "subject.edit.saved": "已保存，下次同步时提交指挥中心",
    "subject.edit.offline_note": (
        "离线也可保存；指挥中心按字段合并他人同时所做的修改，同一字段改法不同时交中队长处理。"
    ),
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
    "subject.edit.open": "Edit details",
    "subject.edit.title": "Edit subject",
    "subject.edit.save": "Save changes",
    "subject.edit.cancel": "Cancel",
    "subject.edit.back": "Back to subjects",
    "subject.edit.saved": "Saved; sent to HQ at the next sync",
    "subject.edit.offline_note": (
        "Saving works offline; HQ merges other edits made meanwhile field by field, and a field changed"
        " two ways goes to the squad leader."
    ),
}
