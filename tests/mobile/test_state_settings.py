"""Settings kept in the store: validated, persisted at once, unchanged on a bad value."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mobile.metakeys import SETTINGS as SETTINGS_KEY
from mobile.state.settings import (
    DEFAULT_HQ_URL,
    Settings,
    SettingsError,
    SettingsState,
    normalise_hq_url,
)
from mobile.store import Store
from testkit.hqkit import catalogue


@pytest.fixture
def store() -> Store:
    return Store.open(":memory:", catalogue=catalogue())


def test_defaults_and_persistence(store: Store) -> None:
    state = SettingsState(store)
    assert state.settings == Settings()
    assert state.lang == "zh"
    assert state.settings.hq_url == DEFAULT_HQ_URL
    seen = []
    state.subscribe(lambda: seen.append(state.settings))
    state.update(lang="en", hq_url=" https://hq.example.cn:8443/ ", photo_long_edge="1280", watermark=False)
    assert seen
    assert seen[-1].lang == "en"
    again = SettingsState(store)
    assert again.settings == Settings("en", "https://hq.example.cn:8443", 1280, False, False)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hq_url": ""}, "hq_url"),
        ({"hq_url": "hq.example.cn"}, "hq_url"),
        ({"hq_url": "http://hq:99999"}, "hq_url"),
        ({"photo_long_edge": "big"}, "photo_long_edge"),
        ({"photo_long_edge": 100}, "photo_long_edge"),
        ({"photo_long_edge": 10_000}, "photo_long_edge"),
    ],
)
def test_bad_values_change_nothing(store: Store, change: dict[str, object], field: str) -> None:
    state = SettingsState(store)
    with pytest.raises(SettingsError) as err:
        state.update(lang="en", **change)  # type: ignore[arg-type]
    assert err.value.field == field
    assert err.value.message("zh") != err.value.message("en")
    assert state.settings == Settings()
    assert SettingsState(store).settings == Settings()


def test_unknown_or_damaged_stored_values_fall_back(store: Store) -> None:
    store.meta_set(SETTINGS_KEY, {"lang": "fr", "watermark": False, "future_option": 1})
    assert SettingsState(store).settings == Settings(lang="zh", watermark=False)
    store.meta_set(SETTINGS_KEY, ["not", "a", "dict"])
    assert SettingsState(store).settings == Settings()


def test_normalise_hq_url() -> None:
    assert normalise_hq_url("https://10.0.0.5:8080/") == "https://10.0.0.5:8080"


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.5:8080", "http://hq.example.cn", "http://192.168.1.2/", "http://[2001:db8::1]:8080"],
)
def test_cleartext_to_another_machine_is_refused_with_the_reason(store: Store, url: str) -> None:
    state = SettingsState(store)
    with pytest.raises(SettingsError) as caught:
        state.update(hq_url=url)
    assert caught.value.field == "hq_url"
    assert "https://" in caught.value.zh
    assert "为保护执法数据" in caught.value.zh
    assert "https://" in caught.value.en
    assert state.settings.hq_url == DEFAULT_HQ_URL


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.8.9.10", "http://localhost:8080", "http://[::1]:8080"]
)
def test_cleartext_to_this_machine_is_allowed_for_development(url: str) -> None:
    assert normalise_hq_url(url) == url


def test_a_development_build_may_allow_cleartext(store: Store) -> None:
    assert normalise_hq_url("http://10.0.0.5:8080", allow_http=True) == "http://10.0.0.5:8080"
    state = SettingsState(store, allow_http=True)
    assert state.update(hq_url="http://10.0.0.5:8080").hq_url == "http://10.0.0.5:8080"


def test_enrolling_a_bureau_ca(store: Store) -> None:
    trustme = pytest.importorskip("trustme")
    pem = trustme.CA().cert_pem.bytes().decode()
    state = SettingsState(store)
    changes: list[int] = []
    state.on_trust_change = lambda: changes.append(1)
    assert state.hq_ca_pem is None
    state.enrol_hq_ca("  \n" + pem)
    assert state.hq_ca_pem is not None
    assert state.hq_ca_pem.strip() == pem.strip()
    assert SettingsState(store).hq_ca_pem == state.hq_ca_pem  # kept in the store
    with pytest.raises(SettingsError) as caught:
        state.enrol_hq_ca("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert caught.value.field == "hq_ca"
    with pytest.raises(SettingsError):
        state.enrol_hq_ca("hello")
    assert state.hq_ca_pem is not None  # a bad one changes nothing
    state.clear_hq_ca()
    assert state.hq_ca_pem is None
    assert changes == [1, 1]


def test_photo_policy_comes_from_the_catalogue_and_is_read_only(store: Store) -> None:
    shipped = catalogue()
    state = SettingsState(store, shipped)
    assert state.photo_policy_from_hq
    assert (state.settings.photo_long_edge, state.settings.watermark) == (1600, True)
    for change in ({"watermark": False}, {"photo_long_edge": 1280}):
        with pytest.raises(SettingsError) as err:
            state.update(lang="en", **change)  # type: ignore[arg-type]
        assert err.value.field == next(iter(change))
        assert "指挥中心" in err.value.message("zh")
        assert "HQ" in err.value.message("en")
        assert state.settings.lang == "zh"  # nothing changed
    state.update(lang="en", watermark=True, photo_long_edge="1600")  # HQ's own values: no change asked
    assert state.settings.lang == "en"
    seen: list[Settings] = []
    state.subscribe(lambda: seen.append(state.settings))
    state.apply_policy(replace(shipped, photo_long_edge=1024, photo_watermark=False))
    assert (seen[-1].photo_long_edge, seen[-1].watermark) == (1024, False)


def test_a_stored_officer_choice_does_not_override_hqs_policy(store: Store) -> None:
    store.meta_set(SETTINGS_KEY, {"watermark": False, "photo_long_edge": 800})
    state = SettingsState(store, catalogue())
    assert (state.settings.photo_long_edge, state.settings.watermark) == (1600, True)
