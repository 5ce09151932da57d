"""Verify the nginx role on Debian 12 and 13 with real clients: TLS as Mozilla's intermediate
profile (sslyze, openssl s_client), http2 by ALPN, certificates that verify against the lab CA,
plain HTTP, a reload under a download, a broken template, and a backend that hangs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import testinfra.utils.ansible_runner
import yaml

Host = Any
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("web")
SCENARIO = Path(__file__).resolve().parents[1]
REPO = SCENARIO.parents[3]
LAB_CA = yaml.safe_load((REPO / "inventory/lab/group_vars/all/lab_pki.yml").read_text())["lab_ca_cert"]
CA_FILE = "/tmp/heroes-lab-ca.crt"
# the app vhost's proxy in converge.yml
MAX_CONNS, READ_TIMEOUT, FAIL_TIMEOUT = 4, 3.0, 4.0


def hostvars(host: Host) -> dict[str, Any]:
    return dict(host.ansible.get_variables())


def name(host: Host, suffix: str = ".lab") -> str:
    """The server name of the host's site vhost (its lab certificate names it)."""
    return f"{hostvars(host)['molecule_cert_host']}{suffix}"


@pytest.fixture()
def ca(host: Host) -> str:
    host.run(f"printf '%s' {shlex.quote(LAB_CA)} > {CA_FILE}")
    return CA_FILE


def curl(host: Host, server: str, path: str = "/", *args: str, scheme: str = "https") -> Any:
    port = 443 if scheme == "https" else 80
    return host.run(
        f"curl -sS --cacert {CA_FILE} --resolve {server}:{port}:127.0.0.1 "
        f"{' '.join(shlex.quote(a) for a in args)} {scheme}://{server}{path}")


def s_client(host: Host, server: str, *args: str) -> Any:
    return host.run(f"echo | openssl s_client -connect 127.0.0.1:443 -servername {server} "
                    f"-CAfile {CA_FILE} {' '.join(args)} 2>&1")


def is_debian13(host: Host) -> bool:
    return str(host.system_info.release).startswith("13")


def test_nginx_runs_with_a_clean_configuration(host: Host) -> None:
    service = host.service("nginx")
    assert service.is_running and service.is_enabled
    check = host.run("nginx -t")
    assert check.rc == 0, check.stderr
    # no warning either (a duplicate MIME extension, a deprecated listen ... http2)
    assert "[warn]" not in check.stderr, check.stderr
    conf = host.file("/etc/nginx/nginx.conf").content_string
    assert "Ansible managed" in conf
    assert "Mozilla Server Side TLS 6.0, intermediate" in conf


def test_tls_protocols_ciphers_and_groups_follow_the_guideline(host: Host) -> None:
    conf = host.file("/etc/nginx/nginx.conf").content_string
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "ssl_prefer_server_ciphers off;" in conf and "ssl_session_tickets off;" in conf
    assert "ssl_dhparam" not in conf and not re.search(r"(?<!EC)DHE-", conf)
    pq = "ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1:secp384r1;"
    classic = "ssl_ecdh_curve X25519:prime256v1:secp384r1;"
    assert (pq if is_debian13(host) else classic) in conf


@pytest.mark.usefixtures("ca")
def test_tls_1_3_and_1_2_are_offered(host: Host) -> None:
    server = name(host)
    tls13 = s_client(host, server, "-tls1_3").stdout
    assert "New, TLSv1.3, Cipher is TLS_AES_" in tls13, tls13
    tls12 = s_client(host, server, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256").stdout
    assert "Cipher is ECDHE-ECDSA-AES128-GCM-SHA256" in tls12, tls12
    # a cipher the guideline dropped is refused
    old = s_client(host, server, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256")
    assert "Cipher is (NONE)" in old.stdout or "handshake failure" in old.stdout, old.stdout


@pytest.mark.parametrize("protocol", ["-tls1", "-tls1_1"])
@pytest.mark.usefixtures("ca")
def test_tls_1_0_and_1_1_are_refused(host: Host, protocol: str) -> None:
    # the client is told to offer them (security level 0); the server must still refuse
    out = s_client(host, name(host), protocol, "-cipher", "DEFAULT@SECLEVEL=0").stdout
    assert "alert protocol version" in out or "no protocols available" in out, out
    assert "Cipher is (NONE)" in out, out


def test_the_post_quantum_group_is_negotiated_where_openssl_has_it(host: Host) -> None:
    """An OpenSSL 3.5 client (Debian 13's) that offers X25519MLKEM768 first gets it from the
    Debian 13 server, and X25519 from the Debian 12 one (OpenSSL 3.0 has no ML-KEM)."""
    client = host.get_host(f"ansible://nginx-deb13?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")
    address = hostvars(host)["host_address"]
    client.run(f"printf '%s' {shlex.quote(LAB_CA)} > {CA_FILE}")
    out = client.run(f"echo | openssl s_client -connect {address}:443 -servername {name(host)} "
                     f"-CAfile {CA_FILE} -tls1_3 -groups X25519MLKEM768:X25519 2>&1").stdout
    assert "Verify return code: 0 (ok)" in out, out
    if is_debian13(host):
        assert "Negotiated TLS1.3 group: X25519MLKEM768\n" in out, out
    else:
        assert "Peer Temp Key: X25519, 253 bits" in out and "MLKEM" not in out, out


@pytest.mark.usefixtures("ca")
def test_the_certificate_verifies_against_the_lab_ca_and_h2_is_negotiated(host: Host) -> None:
    result = curl(host, name(host), "/", "--http2", "-o", "/dev/null",
                  "-w", "%{http_version} %{http_code} %{ssl_verify_result}")
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == ["2", "200", "0"]


@pytest.mark.usefixtures("ca")
def test_hsts_is_two_years_on_every_tls_vhost(host: Host) -> None:
    for server, path in ((name(host), "/"), ("mirror.lab", "/hello.rpm"), (name(host, ""), "/")):
        headers = curl(host, server, path, "-D", "-", "-o", "/dev/null").stdout.lower()
        assert "strict-transport-security: max-age=63072000" in headers, (server, headers)


@pytest.mark.usefixtures("ca")
def test_plain_http_redirects_except_where_it_serves(host: Host) -> None:
    redirect = curl(host, name(host), "/a?b=c", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                    scheme="http")
    assert redirect.stdout == f"301 https://{name(host)}/a?b=c"
    served = curl(host, "mirror.lab", "/hello.rpm", "-D", "-", scheme="http").stdout
    assert served.startswith("HTTP/1.1 200") and "0123456789abcdefghij" in served
    assert "strict-transport-security" not in served.lower()


@pytest.mark.usefixtures("ca")
def test_the_file_tree_types_listings_ranges_and_lifetimes(host: Host) -> None:
    head = curl(host, "mirror.lab", "/hello.rpm", "-D", "-", "-o", "/dev/null").stdout.lower()
    assert "content-type: application/x-rpm" in head
    listing = curl(host, "mirror.lab", "/").stdout
    assert 'href="hello.rpm"' in listing and 'href="repodata/"' in listing
    part = curl(host, "mirror.lab", "/hello.rpm", "-r", "2-5", "-w", " %{http_code}")
    assert part.stdout == "2345 206"
    meta = curl(host, "mirror.lab", "/repodata/repomd.xml", "-D", "-", "-o", "/dev/null").stdout.lower()
    assert "cache-control: max-age=300" in meta


def test_unknown_names_get_nothing(host: Host) -> None:
    tls = host.run("curl -sS -k --resolve nobody.lab:443:127.0.0.1 https://nobody.lab/")
    assert tls.rc != 0  # the handshake is rejected: no certificate is shown
    plain = host.run("curl -sS --resolve nobody.lab:80:127.0.0.1 http://nobody.lab/")
    assert plain.rc == 52  # empty reply (444)


def test_keys_are_private_and_absent_vhosts_gone(host: Host) -> None:
    for vhost in ("site", "files", "app"):
        pem = host.file(f"/etc/nginx/tls/{vhost}.pem")
        assert pem.user == "root" and pem.mode == 0o600
    assert not host.file("/etc/nginx/vhosts.d/retired.conf").exists


def test_sslyze_finds_the_vhost_compliant_with_mozilla_intermediate(host: Host, tmp_path: Path) -> None:
    """sslyze ships guideline 5.7 (it only flags what a server offers beyond it)."""
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(LAB_CA)
    address = hostvars(host)["host_address"]
    result = subprocess.run(
        [str(REPO / ".venv/sslyze/bin/sslyze"), "--mozilla_config=intermediate",
         f"{name(host)}:443{{{address}}}", "--certinfo_ca_file", str(ca_file)],
        capture_output=True, text=True, check=False, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "OK - Compliant" in out and "Not compliant" not in out, out[-3000:]


@pytest.mark.usefixtures("ca")
def test_a_reload_keeps_the_download_in_flight(host: Host) -> None:
    size = host.file("/srv/molecule-site/big.bin").size
    host.run(f"rm -f /tmp/dl.out; (curl -sS --cacert {CA_FILE} --resolve {name(host)}:443:127.0.0.1 "
             f"--limit-rate 8M -o /tmp/dl.bin -w '%{{http_code}} %{{size_download}}' "
             f"https://{name(host)}/big.bin > /tmp/dl.out 2>&1; echo \" rc=$?\" >> /tmp/dl.out) "
             "> /dev/null 2>&1 &")
    time.sleep(1.0)
    old = host.check_output("pgrep -f 'nginx: worker' | sort | tr '\\n' ' '")
    assert host.run("systemctl reload nginx").rc == 0
    deadline = time.monotonic() + 30
    while "rc=" not in host.run("cat /tmp/dl.out").stdout and time.monotonic() < deadline:
        time.sleep(0.5)
    assert host.check_output("cat /tmp/dl.out").split() == ["200", str(size), "rc=0"]
    # the download was served by an old worker to its end, after new workers had taken over
    assert old != host.check_output("pgrep -f 'nginx: worker' | sort | tr '\\n' ' '")


def test_a_broken_template_never_reaches_the_running_nginx(host: Host) -> None:
    live = host.file("/etc/nginx/vhosts.d/site.conf").sha256sum
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_FILTER_PLUGINS": str(REPO / "plugins/filter")}
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host.backend.host,
         "-e", "molecule_broken_directive='no_such_directive on'", str(SCENARIO / "converge.yml")],
        capture_output=True, text=True, env=env, check=False)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, out[-2000:]
    assert "failed to validate" in out and 'unknown directive "no_such_directive"' in out, out[-2000:]
    assert host.file("/etc/nginx/vhosts.d/site.conf").sha256sum == live
    assert host.service("nginx").is_running
    assert host.run("nginx -t -q").rc == 0
    assert curl(host, name(host), "/", "-o", "/dev/null", "-w", "%{http_code}", "-k").stdout == "200"


BURST = """
set -u
for i in $(seq {n}); do
  curl -sk --http1.1 --max-time 20 --resolve {server}:443:127.0.0.1 -o /dev/null \\
       -w '%{{http_code}} %{{time_total}}\\n' https://{server}/ >> /tmp/burst.out &
done
sleep 1.5
ss -Htn state established '( dport = :8081 )' | wc -l > /tmp/burst.conns
wait
"""


@pytest.mark.usefixtures("ca")
def test_a_hanging_backend_costs_fast_errors_bounded_connections_and_heals(host: Host) -> None:
    server = name(host, "")
    assert curl(host, server, "/", "-o", "/dev/null", "-w", "%{http_code}").stdout == "200"
    host.run("rm -f /tmp/burst.out /tmp/burst.conns")
    assert host.run("systemctl kill -s SIGSTOP molecule-backend").rc == 0
    try:
        n = 30
        host.run(f"bash -c {shlex.quote(BURST.format(n=n, server=server))}")
        rows = [line.split() for line in host.check_output("cat /tmp/burst.out").splitlines()]
        conns = int(host.check_output("cat /tmp/burst.conns"))
    finally:
        host.run("systemctl kill -s SIGCONT molecule-backend")
    codes = sorted(code for code, _ in rows)
    assert len(rows) == n, rows
    assert set(codes) <= {"502", "503", "504"}, codes
    # Only the requests that got one of the backend's max_conns connections waited, at most the
    # read timeout (nginx never marks the only server of an upstream down: each of those waits).
    assert sum(float(t) >= 0.5 for _, t in rows) <= MAX_CONNS, rows
    assert max(float(t) for _, t in rows) < READ_TIMEOUT + 1.5, rows
    assert conns <= MAX_CONNS, conns  # max_conns, across workers (the upstream has a zone)
    # the backend answers again: service resumes by itself, without a reload
    deadline = time.monotonic() + FAIL_TIMEOUT + READ_TIMEOUT + 5
    code = ""
    while time.monotonic() < deadline:
        code = curl(host, server, "/", "-o", "/dev/null", "-w", "%{http_code}", "-k").stdout
        if code == "200":
            break
        time.sleep(0.5)
    assert code == "200"


def test_php_runs_only_the_scripts_named_and_the_rest_is_files(host: Host, ca: str) -> None:
    server = f"heroes-lab-{name(host, '')}"
    for path in ("/", "/index.php"):
        out = curl(host, server, path, "--fail")
        assert out.stdout == "php 8 /srv/molecule-php/index.php on\n", (path, out.stdout, out.stderr)
    # another script under root is never run and never shown
    hidden = curl(host, server, "/lib/secret.php", "-o", "/dev/null", "-w", "%{http_code}")
    assert hidden.stdout == "404"
    assert "secret" not in curl(host, server, "/lib/secret.php").stdout
    assert curl(host, server, "/style.css", "--fail").stdout == "body {}\n"
    conf = host.file("/etc/nginx/vhosts.d/php.conf").content_string
    assert "fastcgi_pass heroes_php;" in conf and "max_conns=" in conf
