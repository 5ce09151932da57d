"""Verify the common role on a converged host."""

from __future__ import annotations

from typing import Any

import pytest

Host = Any


@pytest.mark.parametrize("package", ["ca-certificates", "curl", "locales", "sudo", "tzdata"])
def test_base_packages_installed(host: Host, package: str) -> None:
    assert host.package(package).is_installed


def test_timezone(host: Host) -> None:
    assert host.file("/etc/localtime").linked_to.endswith("/Europe/Berlin")
    assert host.check_output("date +%Z") in {"CET", "CEST"}


def test_locale_generated_and_default(host: Host) -> None:
    assert "de_DE.utf8" in host.check_output("locale -a").splitlines()
    assert host.file("/etc/default/locale").contains("^LANG=de_DE.UTF-8$")


def test_timesync_configured_but_not_run_in_a_container(host: Host) -> None:
    conf = host.file("/etc/systemd/timesyncd.conf.d/heroes.conf")
    assert conf.contains("^NTP=ntp1.example.org 192.0.2.123$")
    assert conf.contains("Ansible managed")
    # A container shares the host's clock: the role leaves the daemon stopped there.
    assert not host.service("systemd-timesyncd").is_running


def test_journald_retention_applied(host: Host) -> None:
    conf = host.file("/etc/systemd/journald.conf.d/50-heroes.conf")
    assert conf.mode == 0o644
    assert conf.contains("^SystemMaxUse=64M$")
    assert conf.contains("^MaxRetentionSec=2week$")
    assert conf.contains("^Storage=persistent$")
    # journald runs with the new settings: the handler restarted it, so the persistent
    # journal directory exists.
    assert host.service("systemd-journald").is_running
    assert host.file("/var/log/journal").is_directory


def test_login_banner_names_the_manager(host: Host) -> None:
    motd = host.file("/etc/motd").content_string
    assert "is managed by heroes-infra" in motd
    assert "molecule <test@example.org>" in motd


def test_no_failed_units(host: Host) -> None:
    failed = host.check_output("systemctl --failed --no-legend --plain")
    assert failed == "", failed
