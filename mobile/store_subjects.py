"""Subjects in the phone store: saving them with their character index, and subject search.

A subject row carries search keys (``name_key``, ``extra_key``: ``store_rows.search_key`` of its name,
and of its address, plate and description); ``subject_chars`` indexes their characters, so a name search
reads the postings of the query's characters instead of scanning every subject. ``search_subjects``
looks up plate and phone exactly, then phone digits (the last four, a middle part), then names: exact,
prefix, substring, address/plate/description substring, then similar names (difflib).

Subjects merged at HQ (issue #22): ``subject_aliases`` maps each alias to the subject it now is
(``apply_subject_alias``, from HQ's ``subject_alias`` change). Search shows the survivor only, and
``identity_ids`` (used by the history query) gives the survivor and all its aliases. ``likely_matches``
finds, before a new subject is created, the registry's subjects that are probably the same one (a shared
phone, plate or ID number first, then a similar name of the same kind), offline.
"""

from __future__ import annotations

import difflib
import json
import math
import sqlite3
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from enforcement.codec import subject_from_dict, to_json_dict
from enforcement.identifiers import normalise_phone, normalise_plate, similar_names, strong_keys
from enforcement.model import EnforcementError, Subject, SubjectKind
from enforcement.validation import validate_subject
from mobile.store_core import StoreCore, need_text
from mobile.store_rows import OUTBOX_INSERT, SUBJECT_UPSERT, dumps, search_key, subject_row


def _parsed(parse: Callable[[str], str], text: str) -> str | None:
    """``parse(text)``, or None when ``text`` is not that kind of value (a plate, a phone number)."""
    try:
        return parse(text)
    except (EnforcementError, ValueError):
        return None


PLATE_SQL = "SELECT id, record FROM subjects WHERE plate = ? LIMIT ?"
PHONE_SQL = "SELECT id, record FROM subjects WHERE phone = ? LIMIT ?"
#: Subjects whose phone (area-code dash ignored) holds a run of digits, newest first.
PHONE_PART_SQL = (
    "SELECT id, record FROM subjects WHERE phone <> '' AND instr(replace(phone, '-', ''), ?) > 0"
    " ORDER BY n DESC LIMIT ?"
)
#: The fewest digits searched for inside phone numbers (the last four, a middle part).
PHONE_PART_MIN = 4


def phone_part(text: str) -> str | None:
    """The digits of ``text`` when it is only a part of a phone number (separators and full-width digits
    allowed), else None."""
    digits = "".join(c for c in unicodedata.normalize("NFKC", text) if c not in " -()（）")
    return digits if len(digits) >= PHONE_PART_MIN and digits.isascii() and digits.isdigit() else None


#: A name sharing fewer characters with the query than this ratio (difflib) is not shown as similar.
SIMILAR_RATIO = 0.5


def search_chars(key: str) -> set[str]:
    """The characters a search key is indexed under (spaces are not)."""
    return {c for c in key if not c.isspace()}


SUBJECT_CHAR_INSERT = "INSERT INTO subject_chars (ch, in_name, subject, at, key_len) VALUES (?, ?, ?, ?, ?)"
SUBJECT_CHAR_DELETE = "DELETE FROM subject_chars WHERE ch = ? AND in_name = ? AND subject = ?"


def subject_char_rows(n: int, name_key: str, extra_key: str) -> set[tuple[str, int, int, int, int]]:
    """``subject_chars`` rows of subject ``n`` (SUBJECT_CHAR_INSERT order)."""
    rows = set()
    for in_name, key in ((1, name_key), (0, extra_key)):
        rows |= {(c, in_name, n, key.index(c) + 1, len(key)) for c in search_chars(key)}
    return rows


def name_candidates(conn: sqlite3.Connection, key: str, limit: int) -> list[tuple[int, str, int]]:
    """``(subjects.n, name_key, position of key in it)`` of the subjects whose name holds at least ``need``
    of the query's distinct characters (all for one character, else max(2, 60%) of up to 8), read from the
    character index; those holding the most characters first, then those starting with the query's first
    character, then the shorter names; at most ``max(100, 5 * limit)``, and only these are read."""
    chars = sorted(search_chars(key))[:8]
    if not chars:
        return []
    need = max(2, math.ceil(len(chars) * 0.6)) if len(chars) >= 2 else 1
    params: dict[str, Any] = {"q": key, "first": key[0], "need": need, "cap": max(100, 5 * limit)}
    params.update({f"c{i}": c for i, c in enumerate(chars)})
    marks = ", ".join(f":c{i}" for i in range(len(chars)))
    sql = (
        "WITH best AS (SELECT subject, count(*) AS hits, max(key_len) AS key_len,"  # noqa: S608
        " max(ch = :first AND at = 1) AS starts FROM subject_chars"
        f" WHERE ch IN ({marks}) AND in_name = 1 GROUP BY subject HAVING count(*) >= :need"
        " ORDER BY hits DESC, starts DESC, key_len LIMIT :cap)"
        " SELECT s.n, s.name_key, instr(s.name_key, :q) FROM best b JOIN subjects s ON s.n = b.subject"
    )
    return [(row[0], row[1], row[2]) for row in conn.execute(sql, params).fetchall()]


def extra_candidates(conn: sqlite3.Connection, key: str, limit: int) -> list[tuple[int, str]]:
    """``(subjects.n, name_key)`` of up to ``limit`` subjects whose address, plate or description contains
    ``key``: the postings of the query's rarest character (counted up to 2,000), each checked, stopping
    at ``limit``."""
    chars = sorted(search_chars(key))
    if not chars or limit <= 0:
        return []
    counts = {
        c: conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM subject_chars WHERE ch = ? AND in_name = 0 LIMIT 2000)", (c,)
        ).fetchone()[0]
        for c in chars
    }
    rarest = min(chars, key=lambda c: counts[c])
    if counts[rarest] == 0:
        return []  # a character no address holds: nothing can contain the query
    rows = conn.execute(
        "SELECT s.n, s.name_key FROM subject_chars c JOIN subjects s ON s.n = c.subject"
        " WHERE c.ch = ? AND c.in_name = 0 AND instr(s.extra_key, ?) > 0 LIMIT ?",
        (rarest, key, limit),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def survivor_of(conn: sqlite3.Connection, subject_id: str) -> str:
    """The subject an alias now is (the id itself when it is none)."""
    row = conn.execute("SELECT survivor_id FROM subject_aliases WHERE alias_id = ?", (subject_id,)).fetchone()
    return str(row[0]) if row else subject_id


def identity_ids(conn: sqlite3.Connection, subject_id: str) -> list[str]:
    """The survivor of ``subject_id`` and every alias of it: one subject's ids after merges at HQ."""
    survivor = survivor_of(conn, subject_id)
    rows = conn.execute("SELECT alias_id FROM subject_aliases WHERE survivor_id = ?", (survivor,)).fetchall()
    return [survivor, *sorted(str(r[0]) for r in rows if r[0] != survivor)]


#: The most likely matches shown before a new subject is created.
LIKELY_MATCHES = 5


class SubjectStore(StoreCore):
    """The store's subject methods (part of ``mobile.store.Store``)."""

    @staticmethod
    def _put_subject(conn: sqlite3.Connection, subject: Subject, origin: str) -> None:
        """Insert or update the subject and its rows in the character index."""
        old = conn.execute(
            "SELECT n, name_key, extra_key FROM subjects WHERE id = ?", (subject.id,)
        ).fetchone()
        row = subject_row(subject, origin, datetime.now(UTC).isoformat())
        conn.execute(SUBJECT_UPSERT, row)
        if old is None:
            n = conn.execute("SELECT n FROM subjects WHERE id = ?", (subject.id,)).fetchone()[0]
            before: set[tuple[str, int, int, int, int]] = set()
        else:
            n, before = old[0], subject_char_rows(old[0], old[1], old[2])
        after = subject_char_rows(n, row[3], row[7])
        conn.executemany(SUBJECT_CHAR_DELETE, [row[:3] for row in before - after])
        conn.executemany(SUBJECT_CHAR_INSERT, after - before)

    def save_subject(self, subject: Subject) -> Subject:
        """Validate (normalising plate/phone, checking the ID number), save, queue for HQ; returns the
        normalised subject as stored."""
        subject = validate_subject(subject)
        need_text(subject.id, "id")
        with self._write() as conn:
            self._put_subject(conn, subject, "local")
            self._outbox_add(conn, "subject", subject.id, subject)
        return subject

    def apply_remote_subject(self, subject: Subject) -> None:
        """Store a subject pulled from HQ (already validated there; not queued back)."""
        need_text(subject.id, "id")
        with self._write() as conn:
            self._put_subject(conn, subject, "remote")

    def delete_subject(self, subject_id: str) -> None:
        """HQ's tombstone: the subject and the history pulled for it go. Cases keep their subject_id."""
        with self._write() as conn:
            old = conn.execute(
                "SELECT n, name_key, extra_key FROM subjects WHERE id = ?", (subject_id,)
            ).fetchone()
            if old is not None:
                conn.executemany(
                    SUBJECT_CHAR_DELETE, [r[:3] for r in subject_char_rows(old[0], old[1], old[2])]
                )
                conn.execute("DELETE FROM subjects WHERE n = ?", (old[0],))
            conn.execute("DELETE FROM remote_history WHERE subject_id = ?", (subject_id,))

    def get_subject(self, subject_id: str) -> Subject | None:
        rows = self._rows("SELECT record FROM subjects WHERE id = ?", (subject_id,))
        return subject_from_dict(json.loads(rows[0][0])) if rows else None

    def apply_subject_alias(self, alias_id: str, survivor_id: str) -> None:
        """HQ merged ``alias_id`` into ``survivor_id`` ("" : the merge was undone)."""
        need_text(alias_id, "id")
        with self._write() as conn:
            conn.execute("DELETE FROM subject_aliases WHERE alias_id = ?", (alias_id,))
            if survivor_id and survivor_id != alias_id:
                sql = "INSERT INTO subject_aliases (alias_id, survivor_id) VALUES (?, ?)"
                conn.execute(sql, (alias_id, survivor_id))

    def apply_subject_meta(self, subject_id: str, version: int, edits: list[dict[str, Any]]) -> None:
        """HQ's version of a subject and its last edits (from the ``subject`` change)."""
        need_text(subject_id, "id")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO subject_meta (subject_id, hq_version, edits) VALUES (?, ?, ?) ON CONFLICT"
                " (subject_id) DO UPDATE SET hq_version = excluded.hq_version, edits = excluded.edits",
                (subject_id, version, json.dumps(edits, ensure_ascii=False)),
            )

    def subject_edits(self, subject_id: str) -> list[dict[str, Any]]:
        """The subject's edits as HQ last sent them, newest first (``version``, ``at``, ``by_badge``,
        ``device_id``, ``fields``)."""
        rows = self._rows("SELECT edits FROM subject_meta WHERE subject_id = ?", (subject_id,))
        edits: list[dict[str, Any]] = json.loads(rows[0][0]) if rows else []
        return sorted(edits, key=lambda e: int(e.get("version", 0)), reverse=True)

    def update_subject(self, subject: Subject) -> Subject:
        """Save an edit of a subject and queue it for HQ with the HQ version it was made from
        (``base_version``: HQ merges it field by field, ``hq.subjectedit``); returns it as stored."""
        subject = validate_subject(subject)
        need_text(subject.id, "id")
        with self._write() as conn:
            row = conn.execute(
                "SELECT hq_version FROM subject_meta WHERE subject_id = ?", (subject.id,)
            ).fetchone()
            self._put_subject(conn, subject, "local")
            payload = to_json_dict(subject)
            if row is not None:
                payload["base_version"] = int(row[0])
            text = dumps(payload)
            conn.execute(
                OUTBOX_INSERT,
                ("subject", subject.id, text, len(text.encode("utf-8")), datetime.now(UTC).isoformat()),
            )
        return subject

    def resolve_subject(self, subject_id: str) -> str:
        """The subject ``subject_id`` now is (itself unless HQ merged it into another)."""
        with self._read() as conn:
            return survivor_of(conn, subject_id)

    def subject_ids(self, subject_id: str) -> list[str]:
        """The subject's ids after merges: its survivor first, then every alias."""
        with self._read() as conn:
            return identity_ids(conn, subject_id)

    def likely_matches(
        self,
        *,
        kind: SubjectKind | str = "",
        name: str = "",
        phone: str = "",
        plate: str = "",
        id_number: str = "",
        limit: int = LIKELY_MATCHES,
    ) -> list[tuple[Subject, str]]:
        """Registry subjects (own and HQ's) that are probably the one about to be created, with why:
        ``"phone"`` / ``"plate"`` / ``"id"`` (a shared strong identifier, normalised) first, then
        ``"name"`` (a similar name of the same kind). Aliases show as their survivor, each once."""
        keys = strong_keys(phone, plate, id_number)
        found: dict[str, tuple[Subject, str]] = {}
        with self._read() as conn:
            candidates: list[tuple[str, str]] = []
            for key in sorted(keys):
                what, value = key.split(":", 1)
                if what == "phone":
                    rows = conn.execute(
                        "SELECT id FROM subjects WHERE replace(phone, '-', '') = ? LIMIT ?", (value, limit)
                    ).fetchall()
                elif what == "plate":
                    rows = conn.execute(PLATE_SQL.replace("id, record", "id"), (value, limit)).fetchall()
                else:
                    rows = conn.execute(
                        "SELECT id FROM subjects WHERE instr(record, ?) > 0 LIMIT ?", (value, limit)
                    ).fetchall()
                candidates += [(str(r[0]), what) for r in rows]
            if name.strip():
                for n_id, _record in self._fuzzy(conn, search_key(name), limit * 3):
                    candidates.append((n_id, "name"))
            for subject_id, why in candidates:
                survivor = survivor_of(conn, subject_id)
                if survivor in found:
                    continue
                row = conn.execute("SELECT record FROM subjects WHERE id = ?", (survivor,)).fetchone()
                if row is None:
                    continue
                subject = subject_from_dict(json.loads(row[0]))
                alike = str(subject.kind) == str(kind) and similar_names(subject.name, name)
                if why == "name" and not alike:
                    continue
                found[survivor] = (subject, why)
                if len(found) >= limit:
                    break
        return list(found.values())

    def search_subjects(self, query: str, limit: int = 20) -> list[Subject]:
        """Subjects matching ``query``: plate exact (after normalising) or phone exact; when neither matches,
        phones holding the query's digits (e.g. the last four), then names / shop names (substring, then
        similar names sharing most characters), best first."""
        text = query.strip()
        if not text or limit <= 0:
            return []
        records: dict[str, str] = {}
        with self._read() as conn:
            plate = _parsed(normalise_plate, text)
            if plate:
                for row in conn.execute(PLATE_SQL, (plate, limit)).fetchall():
                    records.setdefault(row[0], row[1])
            phone = _parsed(normalise_phone, text)
            if phone:
                for row in conn.execute(PHONE_SQL, (phone, limit)).fetchall():
                    records.setdefault(row[0], row[1])
            digits = None if records else phone_part(text)
            if digits:  # part of a phone number
                for row in conn.execute(PHONE_PART_SQL, (digits, limit)).fetchall():
                    records.setdefault(row[0], row[1])
            if not records or digits:  # a plate or phone that matched needs no name search
                for subject_id, record in self._fuzzy(conn, search_key(text), limit):
                    records.setdefault(subject_id, record)
            merged: dict[str, str] = {}  # an alias merged at HQ shows as its survivor, once
            for subject_id, record in records.items():
                survivor = survivor_of(conn, subject_id)
                if survivor != subject_id:
                    row = conn.execute("SELECT record FROM subjects WHERE id = ?", (survivor,)).fetchone()
                    record = row[0] if row else record
                merged.setdefault(survivor, record)
        return [subject_from_dict(json.loads(record)) for record in list(merged.values())[:limit]]

    @staticmethod
    def _fuzzy(conn: sqlite3.Connection, key: str, limit: int) -> list[tuple[str, str]]:
        """Subjects ranked: name exact > prefix > contains the query > address/plate/description contains
        it > similar name (difflib ratio >= SIMILAR_RATIO). A later tier is looked at only while the
        earlier ones leave room. Within the substring tiers the shorter name is the closer one (difflib's
        ratio is then 2·len(query) / (len(query) + len(name)), so difflib is not needed there)."""
        ranked: list[tuple[int, float, int, int]] = []  # (tier, -similarity, length, subjects.n)
        similar: list[tuple[int, str]] = []
        for n, name, pos in name_candidates(conn, key, limit):
            if pos > 0:
                tier = 0 if name == key else 1 if name.startswith(key) else 2
                ranked.append((tier, -2 * len(key) / (len(key) + len(name)), len(name), n))
            else:
                similar.append((n, name))
        if len(ranked) < limit:
            seen = {rank[-1] for rank in ranked}
            extra = [(n, name) for n, name in extra_candidates(conn, key, limit + len(seen)) if n not in seen]
            ranked += [(3, 0.0, len(name), n) for n, name in extra[: limit - len(ranked)]]
        if len(ranked) < limit and similar:
            matcher = difflib.SequenceMatcher(None)
            matcher.set_seq2(key)  # difflib caches what it learns about the second sequence
            for n, name in similar:
                matcher.set_seq1(name)
                ratio = matcher.ratio()
                if ratio >= SIMILAR_RATIO:
                    ranked.append((4, -ratio, len(name), n))
        best = [rank[-1] for rank in sorted(ranked)[:limit]]
        if not best:
            return []
        marks = ",".join("?" * len(best))
        sql = f"SELECT n, id, record FROM subjects WHERE n IN ({marks})"  # noqa: S608
        found = {row[0]: (row[1], row[2]) for row in conn.execute(sql, best).fetchall()}
        return [found[n] for n in best]
