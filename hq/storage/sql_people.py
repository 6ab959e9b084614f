"""Districts, squads, users, devices, tokens and sign-in failure counters (shared SQL)."""

# Column lists are module constants, never input: the f-strings build no SQL from data.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from enforcement.model import Officer, Role
from hq.storage.base import (
    DeviceKey,
    DeviceRow,
    District,
    SignInFailures,
    Squad,
    StorageError,
    TokenRow,
    UserRow,
)
from hq.storage.sqlcore import Row, SqlBase

_USER_COLUMNS = "badge, name, squad_code, squad_name, district, role, pin_hash, active"
_SESSION_COLUMNS = "token_hash, device_id, badge, issued_at, expires_at, revoked_at, last_used_at"
_DEVICE_COLUMNS = "device_id, badge, created_at, last_seen_at, device_name, revoked_at"
_KEY_COLUMNS = "device_id, key_hash, bound_badge, bound_at, revoked_at"


class PeopleMixin(SqlBase):
    # -- organisation
    def put_district(self, district: District) -> None:
        self._writable()
        self._x(
            "INSERT INTO districts (code, name) VALUES (?, ?)"
            " ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            (district.code, district.name),
        )

    def get_district(self, code: str) -> District | None:
        row = self._one("SELECT code, name FROM districts WHERE code = ?", (code,))
        return District(row[0], row[1]) if row else None

    def put_squad(self, squad: Squad) -> None:
        self._writable()
        self._x(
            "INSERT INTO squads (code, name, district) VALUES (?, ?, ?) ON CONFLICT (code)"
            " DO UPDATE SET name = excluded.name, district = excluded.district",
            (squad.code, squad.name, squad.district),
        )

    def get_squad(self, code: str) -> Squad | None:
        row = self._one("SELECT code, name, district FROM squads WHERE code = ?", (code,))
        return Squad(row[0], row[1], row[2]) if row else None

    def list_squads(self, district: str | None = None) -> list[Squad]:
        if district is None:
            rows = self._all("SELECT code, name, district FROM squads ORDER BY code")
        else:
            rows = self._all(
                "SELECT code, name, district FROM squads WHERE district = ? ORDER BY code", (district,)
            )
        return [Squad(r[0], r[1], r[2]) for r in rows]

    # -- users
    def put_user(self, user: UserRow) -> None:
        self._writable()
        o = user.officer
        self._x(
            f"INSERT INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (badge)"
            " DO UPDATE SET name = excluded.name, squad_code = excluded.squad_code,"
            " squad_name = excluded.squad_name, district = excluded.district, role = excluded.role,"
            " pin_hash = excluded.pin_hash, active = excluded.active",
            (o.badge, o.name, o.squad_code, o.squad_name, o.district, o.role.value, user.pin_hash,
             user.active),
        )  # fmt: skip

    @staticmethod
    def _user(row: Row) -> UserRow:
        officer = Officer(
            badge=row[0],
            name=row[1],
            squad_code=row[2],
            squad_name=row[3],
            district=row[4],
            role=Role(row[5]),
        )
        return UserRow(officer=officer, pin_hash=row[6], active=bool(row[7]))

    def get_user(self, badge: str) -> UserRow | None:
        row = self._one(f"SELECT {_USER_COLUMNS} FROM users WHERE badge = ?", (badge,))
        return self._user(row) if row else None

    def list_users(self, *, squad_code: str | None = None, district: str | None = None) -> list[UserRow]:
        sql = f"SELECT {_USER_COLUMNS} FROM users WHERE 1 = 1"
        params: list[str] = []
        if squad_code is not None:
            sql += " AND squad_code = ?"
            params.append(squad_code)
        if district is not None:
            sql += " AND district = ?"
            params.append(district)
        return [self._user(r) for r in self._all(sql + " ORDER BY badge", params)]

    def set_pin_hash(self, badge: str, pin_hash: str) -> bool:
        self._writable()
        return self._x("UPDATE users SET pin_hash = ? WHERE badge = ?", (pin_hash, badge)).rowcount == 1

    def set_user_active(self, badge: str, active: bool) -> bool:
        self._writable()
        return self._x("UPDATE users SET active = ? WHERE badge = ?", (active, badge)).rowcount == 1

    # -- devices (one row per device × badge), device keys and tokens
    def touch_device(self, device_id: str, badge: str, at: datetime, device_name: str = "") -> DeviceRow:
        self._writable()
        self._x(
            "INSERT INTO devices (device_id, badge, created_at, last_seen_at, device_name)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id, badge)"
            " DO UPDATE SET last_seen_at = excluded.last_seen_at,"
            " device_name = CASE WHEN excluded.device_name <> '' THEN excluded.device_name"
            " ELSE devices.device_name END",
            (device_id, badge, self._ts(at), self._ts(at), device_name),
        )
        device = self.get_device(device_id, badge)
        assert device is not None
        return device

    def _device(self, row: Row) -> DeviceRow:
        return DeviceRow(row[0], row[1], self._dt(row[2]), self._dt(row[3]), row[4], self._dt_opt(row[5]))

    def get_device(self, device_id: str, badge: str | None = None) -> DeviceRow | None:
        rows = self.list_devices(badge, device_id=device_id)
        return rows[0] if rows else None

    def device_first_seen(self, device_id: str) -> datetime | None:
        row = self._one("SELECT MIN(created_at) FROM devices WHERE device_id = ?", (device_id,))
        return self._dt_opt(row[0]) if row is not None else None

    def list_devices(self, badge: str | None = None, *, device_id: str | None = None) -> list[DeviceRow]:
        sql = f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE 1 = 1"
        params: list[str] = []
        if badge is not None:
            sql += " AND badge = ?"
            params.append(badge)
        if device_id is not None:
            sql += " AND device_id = ?"
            params.append(device_id)
        rows = self._all(sql + " ORDER BY last_seen_at DESC, device_id, badge", params)
        return [self._device(r) for r in rows]

    def active_token_count(self, device_id: str, now: datetime, badge: str | None = None) -> int:
        sql = "SELECT count(*) FROM tokens WHERE device_id = ? AND revoked_at IS NULL AND expires_at > ?"
        params: tuple[str | None, ...] = (device_id, self._ts(now))
        if badge is not None:
            sql += " AND badge = ?"
            params = (*params, badge)
        row = self._one(sql, params)
        return int(row[0]) if row else 0

    def set_device_revoked(self, device_id: str, at: datetime | None, badge: str | None = None) -> int:
        self._writable()
        sql = "UPDATE devices SET revoked_at = ? WHERE device_id = ?"
        params: tuple[object, ...] = (self._ts(at), device_id)
        if badge is not None:
            sql += " AND badge = ?"
            params = (*params, badge)
        count = self._x(sql, params).rowcount
        if badge is None and at is None:
            sql = "UPDATE device_keys SET revoked_at = NULL WHERE device_id = ?"
            count += self._x(sql, (device_id,)).rowcount
        elif badge is None and count:
            self._x(
                f"INSERT INTO device_keys ({_KEY_COLUMNS}) VALUES (?, NULL, '', NULL, ?)"
                " ON CONFLICT (device_id) DO UPDATE SET revoked_at = excluded.revoked_at",
                (device_id, self._ts(at)),
            )
        return count

    def get_device_key(self, device_id: str) -> DeviceKey | None:
        row = self._one(f"SELECT {_KEY_COLUMNS} FROM device_keys WHERE device_id = ?", (device_id,))
        if row is None:
            return None
        return DeviceKey(row[0], row[1], row[2], self._dt_opt(row[3]), self._dt_opt(row[4]))

    def bind_device_key(self, device_id: str, key_hash: str, badge: str, at: datetime) -> DeviceKey:
        self._writable()
        self._x(
            f"INSERT INTO device_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, NULL) ON CONFLICT (device_id)"
            " DO UPDATE SET key_hash = excluded.key_hash, bound_badge = excluded.bound_badge,"
            " bound_at = excluded.bound_at WHERE device_keys.key_hash IS NULL",
            (device_id, key_hash, badge, self._ts(at)),
        )
        bound = self.get_device_key(device_id)
        assert bound is not None
        return bound

    def add_token(self, token: TokenRow) -> None:
        self._writable()
        self._x(
            f"INSERT INTO tokens ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token.token_hash, token.device_id, token.badge, self._ts(token.issued_at),
             self._ts(token.expires_at), self._ts(token.revoked_at), self._ts(token.last_used_at)),
        )  # fmt: skip

    def get_token(self, token_hash: str) -> TokenRow | None:
        row = self._one(f"SELECT {_SESSION_COLUMNS} FROM tokens WHERE token_hash = ?", (token_hash,))
        if row is None:
            return None
        return TokenRow(
            row[0], row[1], row[2], self._dt(row[3]), self._dt(row[4]), self._dt_opt(row[5]),
            self._dt_opt(row[6]),
        )  # fmt: skip

    def touch_token(self, token_hash: str, at: datetime) -> None:
        self._writable()
        self._x("UPDATE tokens SET last_used_at = ? WHERE token_hash = ?", (self._ts(at), token_hash))

    def revoke_tokens(
        self,
        at: datetime,
        *,
        token_hash: str | None = None,
        device_id: str | None = None,
        badge: str | None = None,
    ) -> int:
        self._writable()
        filters = {"token_hash": token_hash, "device_id": device_id, "badge": badge}
        given = {column: value for column, value in filters.items() if value is not None}
        if not given:
            raise StorageError(
                "revoking tokens needs a token, a device or a badge",
                zh="注销登录须指定令牌、设备或警号",
                field="token_hash",
            )
        sql = "UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL"
        for column in given:
            sql += f" AND {column} = ?"
        return self._x(sql, (self._ts(at), *given.values())).rowcount

    # -- sign-in throttling
    def get_failures(self, key: str) -> SignInFailures | None:
        row = self._one(
            "SELECT key, count, first_at, last_at, locked_until FROM signin_failures WHERE key = ?", (key,)
        )
        if row is None:
            return None
        return SignInFailures(row[0], int(row[1]), self._dt(row[2]), self._dt(row[3]), self._dt_opt(row[4]))

    def record_failure(self, key: str, at: datetime, locked_until: datetime | None = None) -> SignInFailures:
        self._writable()
        self._x(
            "INSERT INTO signin_failures (key, count, first_at, last_at, locked_until)"
            " VALUES (?, 1, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
            " count = signin_failures.count + 1, last_at = excluded.last_at,"
            " locked_until = COALESCE(excluded.locked_until, signin_failures.locked_until)",
            (key, self._ts(at), self._ts(at), self._ts(locked_until)),
        )
        failures = self.get_failures(key)
        assert failures is not None
        return failures

    def clear_failures(self, key: str) -> None:
        self._writable()
        self._x("DELETE FROM signin_failures WHERE key = ?", (key,))

    def put_failures(self, failures: SignInFailures) -> None:
        self._writable()
        self._x(
            "INSERT INTO signin_failures (key, count, first_at, last_at, locked_until) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET count = excluded.count, first_at = excluded.first_at,"
            " last_at = excluded.last_at, locked_until = excluded.locked_until",
            (failures.key, failures.count, self._ts(failures.first_at), self._ts(failures.last_at),
             self._ts(failures.locked_until)),
        )  # fmt: skip

    def lock_signin(self, keys: Iterable[str]) -> None:
        self._writable()
        self.d.lock_keys(self.conn, sorted({f"signin:{key}" for key in keys}))
