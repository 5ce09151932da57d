from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from heroes_infra import tls
from heroes_infra.tls import TLSError, nginx_settings
from tests.conftest import load_file

PUBLISHED = Path(__file__).resolve().parents[1] / "fixtures/mozilla-server-side-tls"


@pytest.mark.parametrize("version", tls.available())
def test_every_guideline_file_is_the_published_document(version: str) -> None:
    """The data the role serves equals Mozilla's published guideline of the version it names:
    a new version needs its published document here, and a data file can't drift from it."""
    published = json.loads((PUBLISHED / f"{version}.json").read_text())
    assert str(published["version"]) == version
    data = yaml.safe_load((tls.GUIDELINES / f"mozilla-{version}.yml").read_text())
    assert data["guideline"] == version
    assert set(data["profiles"]) == set(published["configurations"])
    for name, profile in data["profiles"].items():
        want = published["configurations"][name]
        assert profile["tls_versions"] == want["tls_versions"], name
        assert profile["ciphers"] == want["ciphers"]["openssl"], name
        assert profile["ciphersuites"] == want["ciphersuites"], name
        assert profile["tls_curves"] == want["tls_curves"], name
        assert profile["server_preferred_order"] == want["server_preferred_order"], name
        assert profile["hsts_min_age"] == want["hsts_min_age"], name
        assert profile["ocsp_staple"] == want["ocsp_staple"], name


def test_there_is_a_guideline_and_6_0_is_one() -> None:
    assert "6.0" in tls.available()


def test_intermediate_6_0_has_no_dhe_and_only_ecdhe_aead_ciphers() -> None:
    profile = tls.guideline("6.0", "intermediate")
    assert len(profile["ciphers"]) == 6
    assert all(c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c) for c in profile["ciphers"])


def test_debian_12_gets_tls_1_2_and_1_3_no_pq_group_and_http2_on_listen() -> None:
    # bookworm: OpenSSL 3.0, nginx 1.22
    s = nginx_settings("6.0", "intermediate", openssl="OpenSSL 3.0.17 1 Jul 2025", nginx="nginx/1.22.1")
    assert s["ssl_protocols"] == "TLSv1.2 TLSv1.3"
    assert s["ssl_ecdh_curve"] == "X25519:prime256v1:secp384r1" and not s["pq_group"]
    assert s["http2_directive"] is False
    assert s["ssl_prefer_server_ciphers"] == "off" and s["ssl_session_tickets"] == "off"
    assert s["hsts"] == "max-age=63072000"
    assert s["guideline"] == "Mozilla Server Side TLS 6.0, intermediate"
    assert s["ssl_ciphers"].split(":")[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"


def test_debian_13_gets_the_pq_group_first_and_the_http2_directive() -> None:
    # trixie: OpenSSL 3.5, nginx 1.26
    s = nginx_settings("6.0", "intermediate", openssl="3.5.1-1+deb13u1", nginx="1.26.3")
    assert s["ssl_ecdh_curve"] == "X25519MLKEM768:X25519:prime256v1:secp384r1" and s["pq_group"]
    assert s["http2_directive"] is True


@pytest.mark.parametrize(
    ("nginx", "directive"), [("1.25.0", False), ("1.25.1", True), ("1.24.9", False), ("1.27", True)])
def test_the_http2_directive_starts_at_nginx_1_25_1(nginx: str, directive: bool) -> None:
    assert nginx_settings("6.0", "intermediate", "3.0.2", nginx)["http2_directive"] is directive


def test_an_openssl_without_tls_1_3_gets_tls_1_2_only_or_a_clear_refusal_for_modern() -> None:
    assert nginx_settings("6.0", "intermediate", "1.1.0l", "1.22.1")["ssl_protocols"] == "TLSv1.2"
    with pytest.raises(TLSError, match=re.escape("needs TLS 1.3")):
        nginx_settings("6.0", "modern", "1.1.0l", "1.22.1")


def test_modern_keeps_openssls_tls13_suites() -> None:
    s = nginx_settings("6.0", "modern", "3.5.0", "1.26.3")
    assert s["ssl_protocols"] == "TLSv1.3" and s["ssl_ciphers"] == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("5.9", "intermediate", "3.0.2", "1.22.1"), "nginx_tls_guideline must be one of 6.0"),
        (("6.0", "old", "3.0.2", "1.22.1"), "nginx_tls_profile must be one of intermediate, modern"),
        (("6.0", "intermediate", "unknown", "1.22.1"), "openssl version must contain a version"),
        (("6.0", "intermediate", "3.0.2", ""), "nginx version must contain a version"),
    ],
)
def test_bad_input_is_refused_naming_what_was_expected(args: tuple[str, str, str, str], message: str) -> None:
    with pytest.raises(TLSError, match=re.escape(message)):
        nginx_settings(*args)


def test_tls_1_0_and_1_1_are_never_served_even_if_a_data_file_names_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {"tls_versions": ["TLSv1.1", "TLSv1.2"], "ciphers": [], "tls_curves": ["X25519"],
              "server_preferred_order": False, "hsts_min_age": 1, "ocsp_staple": False}
    monkeypatch.setattr(tls, "guideline", lambda *_: broken)
    with pytest.raises(TLSError, match=re.escape("TLSv1.1: never served")):
        nginx_settings("6.0", "intermediate", "3.0.2", "1.22.1")


def _filter() -> Any:
    """plugins/filter/tls.py, the nginx role's filter (loaded by path: Ansible does)."""
    return load_file("plugins/filter/tls.py", "heroes_filter_tls")


def test_the_filter_gives_the_settings_and_turns_bad_input_into_an_ansible_error() -> None:
    from ansible.errors import AnsibleFilterError

    module = _filter()
    assert "heroes_nginx_tls" in module.FilterModule().filters()
    settings = module.heroes_nginx_tls("intermediate", 6.0, "3.5.1", "1.26.3")
    assert settings["pq_group"] and settings["http2_directive"]
    with pytest.raises(AnsibleFilterError, match="nginx_tls_profile must be one of"):
        module.heroes_nginx_tls("old", "6.0", "3.5.1", "1.26.3")
