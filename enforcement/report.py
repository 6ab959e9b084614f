"""Daily patrol figures and the bureau-style summary line, from a list of case versions.

Bureaus publish lines like "取缔露天烧烤280余起，暂扣烧烤炉、架等经营工具120个，查处占道经营109起";
``PatrolFigures.summary_line`` produces that kind of line from the data:

- every case counts once, by its latest version (deduplicated by ``case_no``); a case whose latest
  version is VOIDED or WITHDRAWN is not counted (it is reported in ``voided`` / ``withdrawn``);
- violations are grouped under their headline name: a common name shared by several catalogue codes
  groups them (占道经营 = 0501 mobile vendors + 0504 shops; 渣土遗撒 = 0306 + 0307), otherwise the
  violation's own name; groups are listed most frequent first, each with its verb (取缔 for open-air
  barbecues, 查处 otherwise) and followed by what was seized in those cases;
- fines are summed over cases whose disposition is a penalty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from enforcement.catalogue import Catalogue, Violation
from enforcement.model import Case, CaseStatus, Disposition, Stage
from enforcement.staging import stage_name
from enforcement.text import Lang

#: The verb a bureau uses for a headline; 查处 ("dealt with") unless listed.
VERBS_ZH: Mapping[str, str] = MappingProxyType({"露天烧烤": "取缔"})
VERBS_EN: Mapping[str, str] = MappingProxyType({"露天烧烤": "stopped"})
#: English headline for the shared common names (other headlines use the violation's name_en).
GROUPS_EN: Mapping[str, str] = MappingProxyType({"占道经营": "street-vending case", "渣土遗撒": "muck spill"})
#: Measure words for seized items; 个 unless listed.
UNITS_ZH: Mapping[str, str] = MappingProxyType(
    {"桌椅": "套", "推车": "辆", "三轮车": "辆", "车辆": "辆", "电动车": "辆", "遮阳伞": "把"}
)


def latest_versions(cases: Iterable[Case]) -> list[Case]:
    """The highest version of each case number (ties broken by id), in case-number order."""
    latest: dict[str, Case] = {}
    for case in cases:
        best = latest.get(case.case_no)
        if best is None or (case.version, case.id) > (best.version, best.id):
            latest[case.case_no] = case
    return [latest[no] for no in sorted(latest)]


def headline(violation: Violation, catalogue: Catalogue) -> str:
    """The name a violation is reported under (see the module docstring)."""
    if violation.common_names:
        shared = violation.common_names[0]
        if any(other.code != violation.code and shared in other.common_names for other in catalogue):
            return shared
    return violation.name_zh


@dataclass(frozen=True, slots=True)
class Group:
    name_zh: str
    name_en: str
    cases: int
    seized: tuple[tuple[str, int], ...]  # (kind, quantity), most first


@dataclass(frozen=True, slots=True)
class PatrolFigures:
    cases: int
    by_violation: Mapping[str, int]  # code -> cases
    by_stage: Mapping[Stage, int]  # applied (chosen) stage -> cases
    seized: Mapping[str, int]  # item kind -> quantity
    fines_total: int  # yuan
    fined_cases: int
    returned: int
    voided: int
    withdrawn: int
    groups: tuple[Group, ...] = field(default=())

    def summary_line(self, lang: Lang = "zh") -> str:
        """E.g. "查处占道经营 3 起，取缔露天烧烤 2 起，暂扣烧烤炉 3 个、炭槽 2 个，罚款 2 起共 800 元"."""
        if not self.cases:
            return "无案件" if lang == "zh" else "No cases"
        parts: list[str] = []
        for group in self.groups:
            if lang == "zh":
                parts.append(f"{VERBS_ZH.get(group.name_zh, '查处')}{group.name_zh} {group.cases} 起")
                if group.seized:
                    items = "、".join(f"{kind} {n} {UNITS_ZH.get(kind, '个')}" for kind, n in group.seized)
                    parts.append(f"暂扣{items}")
            else:
                verb = VERBS_EN.get(group.name_zh, "dealt with")
                parts.append(f"{verb} {group.cases} {_plural(group.name_en, group.cases)}")
                if group.seized:
                    parts.append("seized " + ", ".join(f"{n} × {kind}" for kind, n in group.seized))
        if self.fined_cases:
            parts.append(
                f"罚款 {self.fined_cases} 起共 {self.fines_total} 元"
                if lang == "zh"
                else f"fined {self.fined_cases} {_plural('case', self.fined_cases)}, "
                f"{self.fines_total} yuan in all"
            )
        text = "，".join(parts) if lang == "zh" else "; ".join(parts)
        return text if lang == "zh" else text[0].upper() + text[1:]

    def stage_line(self, lang: Lang = "zh") -> str:
        """E.g. "劝导 3 起，警告 1 起，处罚 2 起"."""
        sep = "，" if lang == "zh" else ", "
        unit = " 起" if lang == "zh" else ""
        return sep.join(f"{stage_name(s, lang)} {self.by_stage.get(s, 0)}{unit}" for s in Stage)


def _plural(noun: str, n: int) -> str:
    if n == 1 or noun.endswith("s"):
        return noun
    return noun + "es" if noun.endswith(("sh", "ch", "x")) else noun + "s"


def patrol_figures(
    cases: Iterable[Case], catalogue: Catalogue, *, returned: Collection[str] = ()
) -> PatrolFigures:
    """Figures for a set of case versions (e.g. one officer's or one squad's day). ``returned``: the case
    numbers the squad leader returned; those among the counted cases are counted in ``returned``."""
    latest = latest_versions(cases)
    counted = [c for c in latest if c.status == CaseStatus.ACTIVE]
    by_violation = Counter(c.violation_code for c in counted)
    by_stage = Counter(Stage(c.chosen_stage) for c in counted)
    seized: Counter[str] = Counter()
    fined = [c for c in counted if c.disposition == Disposition.PENALTY and c.fine_yuan]

    group_cases: Counter[str] = Counter()
    group_seized: dict[str, Counter[str]] = {}
    group_en: dict[str, str] = {}
    first_code: dict[str, str] = {}
    for case in counted:
        violation = catalogue.violations.get(case.violation_code)
        name = headline(violation, catalogue) if violation else case.violation_code
        group_cases[name] += 1
        group_en.setdefault(name, GROUPS_EN.get(name) or (violation.name_en.lower() if violation else name))
        first_code[name] = min(first_code.get(name, case.violation_code), case.violation_code)
        items = group_seized.setdefault(name, Counter())
        for item in case.seized_items:
            items[item.kind] += item.quantity
            seized[item.kind] += item.quantity

    order = sorted(group_cases, key=lambda name: (-group_cases[name], first_code[name]))
    groups = tuple(
        Group(name, group_en[name], group_cases[name], _most_first(group_seized[name])) for name in order
    )
    counted_nos = {c.case_no for c in counted}
    return PatrolFigures(
        cases=len(counted),
        by_violation=MappingProxyType(dict(sorted(by_violation.items()))),
        by_stage=MappingProxyType({s: by_stage[s] for s in Stage if by_stage[s]}),
        seized=MappingProxyType(dict(_most_first(seized))),
        fines_total=sum(c.fine_yuan or 0 for c in fined),
        fined_cases=len(fined),
        returned=len(counted_nos & set(returned)),
        voided=sum(1 for c in latest if c.status == CaseStatus.VOIDED),
        withdrawn=sum(1 for c in latest if c.status == CaseStatus.WITHDRAWN),
        groups=groups,
    )


def _most_first(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
