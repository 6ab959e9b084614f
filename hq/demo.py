"""The demo district: 金水区 with two squads, officers and leaders with known PINs, an HQ account, a small
subject registry and a little history, so that the staged rule shows 警告 and 处罚 on the first new case.

``seed_demo`` is idempotent: users, squads and subjects are (re)written; the history cases go through
``hq.ingest.push.ingest_batch`` like any phone's push (HQ computes their stages), and a second run finds them
as duplicates. ``demo_text`` is what ``streetpatrol-hq seed-demo`` prints.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from enforcement.catalogue import Catalogue
from enforcement.codec import to_json_dict
from enforcement.labels import subject_plate
from enforcement.model import (
    LOCAL_TZ,
    Case,
    Disposition,
    HistoryEntry,
    Location,
    Officer,
    PhotoKind,
    PhotoRef,
    Role,
    Stage,
    Subject,
    SubjectKind,
    local_date,
)
from enforcement.numbering import format_case_no
from enforcement.staging import compute_stage, stage_name
from hq.auth import PinHasher
from hq.demo_zones import seed_demo_zones
from hq.ingest.push import ingest_batch
from hq.notices import save_series
from hq.settings import Settings
from hq.storage.base import District, Squad, Storage, UserRow
from sync.protocol import PushRecord

DISTRICT = District("金水区", "金水区")
#: The demo district's warning-notice series (hq.notices): books of JG-2026-000001 … issued on pulls.
DEMO_NOTICE_SERIES = "JG-2026-"
SQUADS = (
    Squad("ZD01", "人民路中队", DISTRICT.code),
    Squad("ZD02", "花园路中队", DISTRICT.code),
)
HQ_SQUAD = Squad("ZH00", "指挥中心", DISTRICT.code)
DEMO_DEVICE = "demo-history-device"
DEMO_INSTALL_TAG = "DEM0A"


@dataclass(frozen=True, slots=True)
class DemoUser:
    officer: Officer
    pin: str


def _user(badge: str, name: str, squad: Squad, role: Role, pin: str) -> DemoUser:
    return DemoUser(Officer(badge, name, squad.code, squad.name, squad.district, role), pin)


USERS = (
    _user("1001", "张伟", SQUADS[0], Role.LEADER, "260101"),
    _user("1023", "王㐂", SQUADS[0], Role.OFFICER, "261023"),
    _user("1024", "李娜", SQUADS[0], Role.OFFICER, "261024"),
    _user("2001", "陈静", SQUADS[1], Role.LEADER, "262001"),
    _user("2031", "刘洋", SQUADS[1], Role.OFFICER, "262031"),
    _user("2032", "吉𠮷", SQUADS[1], Role.OFFICER, "262032"),
    _user("9001", "指挥中心值班员", HQ_SQUAD, Role.HQ, "269001"),
    _user("9101", "热线受理员", HQ_SQUAD, Role.DESK, "269101"),
)

# Fixed ids: a second seed run finds the same records.
SUBJECTS = (
    Subject(
        "d0000000-0000-4000-8000-000000000001",
        SubjectKind.MOBILE_VENDOR,
        name="赵老三烧烤",
        phone="13800000001",
        address="人民路与黄河路口",
        district=DISTRICT.code,
        description="夜市流动烧烤摊",
    ),
    Subject(
        "d0000000-0000-4000-8000-000000000002",
        SubjectKind.MOBILE_VENDOR,
        name="孙大姐水果",
        phone="13800000002",
        address="花园路农业路口",
        district=DISTRICT.code,
        hardship=True,
        description="困难户，已引导至疏导点",
    ),
    Subject(
        "d0000000-0000-4000-8000-000000000003",
        SubjectKind.VEHICLE,
        plate="豫A12345",
        name="某渣土运输公司",
        district=DISTRICT.code,
        description="渣土车",
    ),
    Subject(
        "d0000000-0000-4000-8000-000000000004",
        SubjectKind.SHOP,
        name="鑫㐂便利店",
        address="人民路88号",
        district=DISTRICT.code,
    ),
)


@dataclass(frozen=True, slots=True)
class PastCase:
    case_id: str
    badge: str
    subject: int  # index in SUBJECTS
    violation_code: str
    days_ago: int
    disposition: Disposition
    address: str


PAST_CASES = (
    # 赵老三烧烤: two earlier 露天烧烤 → the next one is 处罚 (3rd)
    PastCase(
        "d1000000-0000-4000-8000-000000000001", "1023", 0, "0510", 60, Disposition.PERSUADED, "人民路夜市"
    ),
    PastCase(
        "d1000000-0000-4000-8000-000000000002",
        "1024",
        0,
        "0510",
        20,
        Disposition.WARNING_NOTICE,
        "人民路夜市",
    ),
    # 孙大姐水果: one earlier 占道经营 (游商) → the next one is 警告 (2nd)
    PastCase(
        "d1000000-0000-4000-8000-000000000003", "2031", 1, "0501", 30, Disposition.PERSUADED, "花园路农业路口"
    ),
    # 渣土车 豫A12345: one earlier 渣土遗撒 → 警告 next
    PastCase(
        "d1000000-0000-4000-8000-000000000004", "2032", 2, "0306", 10, Disposition.CORRECTED, "北三环辅路"
    ),
    # 鑫㐂便利店: one 店外经营 more than a year ago → outside the window, the next one is 劝导 again
    PastCase(
        "d1000000-0000-4000-8000-000000000005", "1023", 3, "0504", 400, Disposition.PERSUADED, "人民路88号"
    ),
)


@dataclass
class DemoSummary:
    users: tuple[DemoUser, ...] = USERS
    subjects: tuple[Subject, ...] = SUBJECTS
    cases_added: int = 0
    cases_already_there: int = 0
    orders_added: int = 0  # demo work orders (hotline complaints) filed by this run
    next_stage: dict[str, tuple[str, Stage, int]] = field(
        default_factory=dict
    )  # subject id → (code, stage, n)


def _case_no(squad_code: str, badge: str, day: date, seq: int) -> str:
    return format_case_no(squad_code, badge, day, DEMO_INSTALL_TAG, seq)


def _past_case(
    past: PastCase, seq: int, now: datetime, history: list[HistoryEntry], catalogue: Catalogue
) -> Case:
    officer = next(u.officer for u in USERS if u.officer.badge == past.badge)
    subject = SUBJECTS[past.subject]
    day = (now - timedelta(days=past.days_ago)).astimezone(LOCAL_TZ)
    occurred = day.replace(hour=21, minute=30, second=0, microsecond=0)
    decision = compute_stage(past.violation_code, occurred, history)
    stage = decision.stage
    disposition = past.disposition
    notice = f"JS-JG-{seq:04d}" if disposition is Disposition.WARNING_NOTICE else ""
    return Case(
        id=past.case_id,
        case_no=_case_no(officer.squad_code, officer.badge, local_date(occurred), seq),
        officer_badge=officer.badge,
        squad_code=officer.squad_code,
        device_id=DEMO_DEVICE,
        violation_code=past.violation_code,
        occurred_at=occurred,
        location=Location(address=past.address, no_fix_reason="演示数据"),
        subject_id=subject.id,
        computed_stage=stage,
        chosen_stage=stage,
        stage_ordinal=decision.ordinal,
        disposition=disposition,
        warning_notice_no=notice,
        notes="演示历史案件",
        created_at=occurred,
        photos=_demo_photos(past.case_id, catalogue.min_photos_for(past.violation_code, stage)),
    )


def _demo_photos(case_id: str, needed: int) -> tuple[PhotoRef, ...]:
    """Photo records for a demo case: as many as the catalogue's minimum for its stage asks (警告 and
    处罚: one). The demo seeds records only, so HQ lists these photos as not yet uploaded."""
    names = (hashlib.sha256(f"demo-photo:{case_id}:{n}".encode()).hexdigest() for n in range(needed))
    return tuple(PhotoRef(name, 120_000, PhotoKind.DURING, 1600, 1200) for name in names)


def seed_demo(
    storage: Storage, settings: Settings, *, catalogue: Catalogue, now: datetime | None = None
) -> DemoSummary:
    """Write the demo district, squads, users (PINs hashed), subjects and history; see the module doc."""
    now = now or settings.clock()
    pins = PinHasher(settings.pin_hashing)
    summary = DemoSummary()
    with storage.transaction() as tx:
        tx.put_district(DISTRICT)
        for squad in (*SQUADS, HQ_SQUAD):
            tx.put_squad(squad)
        for user in USERS:
            tx.put_user(UserRow(officer=user.officer, pin_hash=pins.hash(user.pin)))
        for subject in SUBJECTS:
            tx.save_subject(subject, at=now, by_badge="cli")
        tx.audit("cli", "seed_demo", target=DISTRICT.code)
    histories: dict[str, list[HistoryEntry]] = {s.id: [] for s in SUBJECTS}
    ordered = sorted(enumerate(PAST_CASES, start=1), key=lambda item: -item[1].days_ago)
    for seq, past in ordered:
        subject_id = SUBJECTS[past.subject].id
        with storage.transaction(readonly=True) as tx:
            stored = tx.get_case(past.case_id)
        if stored is not None:  # seeded before (possibly on another day): keep it as it is
            summary.cases_already_there += 1
            histories[subject_id].append(HistoryEntry.of(stored))
            continue
        case = _past_case(past, seq, now, histories[subject_id], catalogue)
        officer = next(u.officer for u in USERS if u.officer.badge == past.badge)
        record = PushRecord(kind="case", id=case.id, device_seq=seq, payload=to_json_dict(case))
        # received as a phone in reach would have sent it, minutes after it was recorded: history seeded
        # today is not a case HQ received today (a case over a year old on receipt would be one whose time
        # HQ finds implausible, placed on the day of receipt: patrollog.reviewing.best_known_time)
        received = min(now, case.occurred_at + timedelta(minutes=10))
        [result] = ingest_batch(storage, officer, DEMO_DEVICE, [record], catalogue=catalogue, now=received)
        if result.acked:
            summary.cases_added += 1
        else:
            raise RuntimeError(f"demo case refused: {result.reason_en}")
        histories[subject_id].append(HistoryEntry.of(case))
    for index, subject in enumerate(SUBJECTS):
        codes = {p.violation_code for p in PAST_CASES if p.subject == index}
        for code in sorted(codes):
            decision = compute_stage(code, now, histories[subject.id])
            summary.next_stage[subject.id] = (code, decision.stage, decision.ordinal)
    with storage.transaction() as tx:  # notice books: HQ issues each officer a book of 50 on his first pull
        save_series(
            tx, DEMO_NOTICE_SERIES, district=DISTRICT.code, width=6, book_size=50, threshold=10,
            capacity=None, auto=True, at=now, by="cli",
        )  # fmt: skip
    seed_demo_zones(storage, now)
    summary.orders_added = seed_demo_orders(storage, now, catalogue)
    return summary


#: The demo's complaints: (minutes ago, category, description, address, point or None, assigned badge or "",
#: followed up). The first is overdue (no one on the spot after 3 hours), the second resolved by the
#: phone and followed up (满意), the third waits in the desk's manual queue (no point to route it by).
DEMO_POINT = (34.7466, 113.6253)  # on 人民路, inside ZD01's demo area
DEMO_ORDERS = (
    (180, "0510", "演示：夜间露天烧烤，油烟扰民", "人民路与经三路交叉口东南角", DEMO_POINT, "1023", False),
    (26 * 60, "0504", "演示：商铺店外经营，堵塞人行道", "人民路56号", DEMO_POINT, "1024", True),
    (10, "0501", "演示：小区门口有流动摊贩叫卖", "金水区某小区南门", None, "", False),
)


def seed_demo_orders(storage: Storage, now: datetime, catalogue: Catalogue) -> int:
    """File the demo's complaints through ``hq.workorders`` as the desk (9101) would (idempotent: skipped
    when the first one is there); the phone's arrival and resolution of the second are stored as its
    events. Returns how many were added."""
    from enforcement.model import new_id
    from enforcement.workorders import Closure, Event, EventKind, Satisfaction, Source
    from hq.workorders import Complaint, assign, file_order, follow_up, refresh

    desk = next(u.officer for u in USERS if u.officer.role is Role.DESK)
    with storage.transaction(readonly=True) as tx:
        if any(o.description == DEMO_ORDERS[0][2] for o in tx.list_work_orders(limit=5000)):
            return 0
    for minutes, code, text, address, point, badge, followed in DEMO_ORDERS:
        at = now - timedelta(minutes=minutes)
        lat, lon = point if point else (None, None)
        complaint = Complaint(Source.HOTLINE_12345, code, text, address, lat, lon, "张先生", "13900001234")
        order = file_order(
            storage, complaint, district=DISTRICT.code, filed_by=desk.badge, catalogue=catalogue, now=at
        )
        if badge:
            assign(storage, order.id, badge, caller=desk, now=at + timedelta(minutes=2))
        if not followed:
            continue
        arrived, resolved = at + timedelta(minutes=40), at + timedelta(hours=3)
        photo = hashlib.sha256(f"demo-order-photo:{order.id}".encode()).hexdigest()
        on_spot = Event(new_id(), order.id, EventKind.ARRIVE, arrived, arrived, actor=badge,
                        from_phone=True, offset_s=0.0, lat=lat, lon=lon, distance_m=12.0)  # fmt: skip
        done = Event(new_id(), order.id, EventKind.RESOLVE, resolved, resolved, actor=badge,
                     from_phone=True, offset_s=0.0, closure=Closure.SELF_CORRECTED,
                     note="演示：已督促店主收回店外物品，恢复通行", photos=(photo,))  # fmt: skip
        with storage.transaction() as tx:
            tx.add_work_order_event(on_spot)
            tx.add_work_order_event(done)
            refresh(tx, order.id, resolved)
        follow_up(storage, order.id, caller=desk, now=at + timedelta(hours=20), reached=True,
                  satisfaction=Satisfaction.SATISFIED, comment="演示：来电人表示满意")  # fmt: skip
    return len(DEMO_ORDERS)


def demo_text(summary: DemoSummary, catalogue: Catalogue | None = None) -> str:
    """The printed account list and what the staged rule will say for each demo subject."""
    lines = [
        f"演示辖区 Demo district: {DISTRICT.name} — " + "，".join(f"{s.code} {s.name}" for s in SQUADS),
        "",
        "警号 Badge | 姓名 Name | 中队 Squad | 角色 Role | 密码 PIN",
    ]
    role_names = {
        Role.OFFICER: "队员 officer",
        Role.LEADER: "中队长 leader",
        Role.HQ: "指挥中心 HQ",
        Role.DESK: "热线受理 desk",
    }
    for user in summary.users:
        o = user.officer
        lines.append(
            f"{o.badge} | {o.name} | {o.squad_code} {o.squad_name} | {role_names[o.role]} | {user.pin}"
        )
    lines.append("")
    lines.append(
        f"历史案件 History cases: {summary.cases_added} 新增 added, "
        f"{summary.cases_already_there} 已存在 already there"
    )
    lines.append(
        f"演示热线工单 Demo work orders: {summary.orders_added} 新增 added "
        "(/dashboard/orders, 9101；Open311 对接密钥 partner keys: streetpatrol-hq partner add NAME)"
    )
    lines += ["", "当事人 Subject → 下次处置 next stage:"]
    for subject in summary.subjects:
        if subject.id not in summary.next_stage:
            continue
        code, stage, ordinal = summary.next_stage[subject.id]
        label = subject.name or subject_plate(subject)
        name = catalogue.label(code) if catalogue is not None else code
        lines.append(
            f"  {label} ({name}): 第{ordinal}次 → {stage_name(stage, 'zh')} / {stage_name(stage, 'en')}"
        )
    return "\n".join(lines)
