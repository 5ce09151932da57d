"""Benchmark: nginx as the nginx and mirror roles configure it against lighttpd, the mirror's web
server before the migration, serving the same tree from the same container, in the same run.

On one web node (``web1``: Debian 12, nginx 1.22, lighttpd 1.4.69) three servers answer over
TLS with the same certificate, the same ciphers and groups (read from the role's nginx.conf)
and HTTP/2 by ALPN:

* **nginx (role)** — the running nginx on 443, the mirror's virtual host as deployed;
* **nginx (stock)** — a second nginx master on 9444 with Debian's stock nginx.conf settings and
  a plain virtual host on the same tree: what the role's tuning is measured against;
* **lighttpd** — lighttpd on 9443 with the legacy mirror's settings
  (``playbooks/lab/legacy-mirror.yml``) and ``mod_openssl``: the baseline.

h2load (Debian's nghttp2-client) runs on the client container, one workload after another,
the servers' order alternating from round to round; each figure is the median of the rounds:

* small files over h2: requests/s for ``repomd.xml`` (10 connections, 10 streams each, 100,000
  requests): repository metadata, which the mirror reads from disk at every request;
* small packages over h2: the same for a 28-byte package, which nginx serves from its open file
  cache (``nginx_open_file_cache_*``);
* one large file: MB/s downloading the 8 MiB ``heroes-big.bin`` 60 times on one connection;
* 20 requests per connection: requests/s, 500 connections that each ask 20 times in turn;
* new TLS handshakes: connections/s, 500 connections that each ask once.

The ratios are nginx over lighttpd (target: >= 1 on every figure). The download client's figures
from the migration (``/var/lib/heroes-lab/mirror-migration.json`` on the client, written by
``playbooks/lab/mirror-migration.yml``) are printed with them. The extra servers are stopped at the
end, whatever happened; nothing of the deployed nginx is changed.

    make lab && .venv/bin/python benchmarks/web_h2load.py --rounds 5
    # on a kept full-stack scenario instead of the lab (molecule converge -s full-stack):
    .venv/bin/python benchmarks/web_h2load.py --prefix ''
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report import finish

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = "/etc/heroes-bench"
MIGRATION_REPORT = "/var/lib/heroes-lab/mirror-migration.json"
SMALL = "/repo/repodata/repomd.xml"
PACKAGE = "/repo/Packages/heroes-sample-1.0-1.noarch.rpm"
LARGE = "/pool/heroes-big.bin"


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    path: str
    options: str
    unit: str  # "req/s" or "MB/s"


WORKLOADS = (
    Workload("small_h2", "small files over h2", SMALL, "-n 100000 -c 10 -m 10", "req/s"),
    Workload("small_package_h2", "small packages over h2", PACKAGE, "-n 100000 -c 10 -m 10", "req/s"),
    Workload("large_file", "one large file", LARGE, "-n 60 -c 1 -m 1", "MB/s"),
    Workload("per_connection_20", "20 requests per connection", SMALL, "-n 10000 -c 500 -m 1", "req/s"),
    Workload("handshakes", "new TLS handshakes", SMALL, "-n 500 -c 500 -m 1", "conn/s"),
)
SERVERS = {"nginx": 443, "nginx_stock": 9444, "lighttpd": 9443}

_FINISHED = re.compile(r"finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s")
_REQUESTS = re.compile(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, "
                       r"(\d+) errored, (\d+) timeout")
_TRAFFIC = re.compile(r"traffic: \S+ \((\d+)\) total")
_STATUS = re.compile(r"status codes: (\d+) 2xx")


def parse_h2load(out: str) -> dict[str, float]:
    """h2load's summary: seconds, req/s, bytes, and the requests that did not get a 2xx."""
    finished, requests = _FINISHED.search(out), _REQUESTS.search(out)
    traffic, status = _TRAFFIC.search(out), _STATUS.search(out)
    if finished is None or requests is None or traffic is None or status is None:
        raise ValueError(f"not an h2load summary:\n{out[-1500:]}")
    seconds = float(finished[1]) / {"us": 1e6, "ms": 1e3, "s": 1.0}[finished[2]]
    total = int(requests[1])
    return {"seconds": seconds, "req_per_s": float(finished[3]), "bytes": int(traffic[1]),
            "mb_per_s": int(traffic[1]) / seconds / 1e6, "total": total,
            "not_2xx": total - int(status[1]),
            "failed": int(requests[3]) + int(requests[4]) + int(requests[5])}


def figure(parsed: dict[str, float], workload: Workload) -> float:
    return parsed["mb_per_s"] if workload.unit == "MB/s" else parsed["req_per_s"]


def lighttpd_conf(tls: dict[str, str], address: str) -> str:
    """The legacy mirror's lighttpd settings, on 9443 with TLS as the role's nginx has it."""
    return f"""# heroes-infra benchmark (benchmarks/web_h2load.py): lighttpd as the legacy mirror ran it,
# with TLS
server.modules = ("mod_indexfile", "mod_access", "mod_alias", "mod_redirect", "mod_dirlisting",
                  "mod_staticfile", "mod_openssl")
server.document-root = "/srv/mirror"
server.errorlog = "/var/log/lighttpd/heroes-bench-error.log"
server.pid-file = "/run/heroes-bench-lighttpd.pid"
server.username = "www-data"
server.groupname = "www-data"
server.bind = "{address}"
server.port = 9443
server.feature-flags += ("server.h2proto" => "enable")
index-file.names = ("index.html")
url.access-deny = ("~", ".inc")
dir-listing.activate = "enable"
include_shell "/usr/share/lighttpd/create-mime.conf.pl"
ssl.engine = "enable"
ssl.pemfile = "/etc/nginx/tls/mirror.pem"
ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.2", "CipherString" => "{tls['ciphers']}",
                            "Groups" => "{tls['groups']}", "Options" => "-ServerPreference,-SessionTicket")
"""


def nginx_stock_conf(tls: dict[str, str]) -> str:
    """Debian's stock nginx.conf (its settings, not the roles'), one plain virtual host."""
    return f"""# heroes-infra benchmark (benchmarks/web_h2load.py): Debian's stock nginx.conf settings
user www-data;
worker_processes auto;
pid /run/heroes-bench-nginx.pid;
error_log /var/log/heroes-bench-nginx.error.log;
events {{ worker_connections 768; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_ciphers {tls['ciphers']};
    ssl_ecdh_curve {tls['groups']};
    access_log /var/log/heroes-bench-nginx.access.log;
    gzip on;
    server {{
        listen 9444 ssl http2;
        server_name _;
        ssl_certificate /etc/nginx/tls/mirror.pem;
        ssl_certificate_key /etc/nginx/tls/mirror.pem;
        root /srv/mirror;
        autoindex on;
    }}
}}
"""


class Lab:
    """The containers the benchmark acts on."""

    def __init__(self, prefix: str, web: str, client: str) -> None:
        self.prefix, self.web, self.client = prefix, web, client

    def dexec(self, host: str, command: str, check: bool = True, timeout: float = 600) -> str:
        proc = subprocess.run(["docker", "exec", f"{self.prefix}{host}", "sh", "-c", command],
                              check=False, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise SystemExit(f"{host}: {command!r} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    def address(self, host: str) -> str:
        template = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
        out = subprocess.run(["docker", "inspect", "-f", template, f"{self.prefix}{host}"],
                             check=True, capture_output=True, text=True).stdout
        return out.split()[0]

    def write(self, host: str, path: str, content: str) -> None:
        self.dexec(host, f"mkdir -p {shlex.quote(str(Path(path).parent))} && "
                         f"printf '%s' {shlex.quote(content)} > {shlex.quote(path)}")


def tls_settings(lab: Lab) -> dict[str, str]:
    conf = lab.dexec(lab.web, "cat /etc/nginx/nginx.conf")
    ciphers = re.search(r"^\s*ssl_ciphers (\S+);", conf, re.M)
    groups = re.search(r"^\s*ssl_ecdh_curve (\S+);", conf, re.M)
    if ciphers is None or groups is None:
        raise SystemExit(f"{lab.web}: no ssl_ciphers/ssl_ecdh_curve in /etc/nginx/nginx.conf: "
                         "is the nginx role applied?")
    return {"ciphers": ciphers[1], "groups": groups[1]}


def start_servers(lab: Lab, address: str) -> None:
    tls = tls_settings(lab)
    lab.write(lab.web, f"{BENCH_DIR}/lighttpd.conf", lighttpd_conf(tls, address))
    lab.write(lab.web, f"{BENCH_DIR}/nginx-stock.conf", nginx_stock_conf(tls))
    lighttpd, stock = f"-f {BENCH_DIR}/lighttpd.conf", f"-c {BENCH_DIR}/nginx-stock.conf"
    lab.dexec(lab.web, f"lighttpd -tt {lighttpd} && nginx -t -q {stock}")
    lab.dexec(lab.web, f"systemd-run --unit heroes-bench-lighttpd lighttpd -D {lighttpd} && "
                       f"systemd-run --unit heroes-bench-nginx nginx {stock} -g 'daemon off;'")
    time.sleep(1)


def stop_servers(lab: Lab) -> None:
    lab.dexec(lab.web, "systemctl stop heroes-bench-lighttpd heroes-bench-nginx; "
                       "systemctl reset-failed heroes-bench-lighttpd heroes-bench-nginx", check=False)


def h2load(lab: Lab, workload: Workload, address: str, port: int) -> dict[str, float]:
    name = f"{lab.web}.lab"
    out = lab.dexec(lab.client, f"h2load {workload.options} --connect-to {address}:{port} "
                                f"https://{name}:{port}{workload.path}", check=False)
    return parse_h2load(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of every workload on every server")
    parser.add_argument("--prefix", default="heroes-lab-", help="the containers' name prefix")
    parser.add_argument("--web", default="web1")
    parser.add_argument("--client", default="client")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/web_h2load.json")
    args = parser.parse_args()
    lab = Lab(args.prefix, args.web, args.client)
    lab.dexec(args.client, "command -v h2load >/dev/null || "
                           "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >/dev/null")
    address = lab.address(args.web)
    versions = {"nginx": lab.dexec(args.web, "nginx -v 2>&1").strip(),
                "lighttpd": lab.dexec(args.web, "lighttpd -v").strip().splitlines()[0],
                "h2load": lab.dexec(args.client, "h2load --version").strip()}
    runs: dict[str, dict[str, list[dict[str, float]]]] = {w.key: {s: [] for s in SERVERS} for w in WORKLOADS}
    stop_servers(lab)
    start_servers(lab, address)
    try:
        for port in SERVERS.values():  # warm-up: caches, the first handshakes
            h2load(lab, WORKLOADS[0], address, port)
        for number in range(args.rounds):
            order = list(SERVERS) if number % 2 == 0 else list(reversed(SERVERS))
            for workload in WORKLOADS:
                for server in order:
                    runs[workload.key][server].append(h2load(lab, workload, address, SERVERS[server]))
            print(f"round {number + 1} of {args.rounds} done", flush=True)
    finally:
        stop_servers(lab)
    migration = json.loads(lab.dexec(args.client, f"cat {MIGRATION_REPORT}", check=False) or "{}")
    result: dict[str, Any] = {"versions": versions, "rounds": args.rounds, "web": args.web, "workloads": {}}
    rows = []
    for workload in WORKLOADS:
        medians = {s: statistics.median(figure(r, workload) for r in runs[workload.key][s]) for s in SERVERS}
        bad = {s: sum(int(r["failed"] + r["not_2xx"]) for r in runs[workload.key][s]) for s in SERVERS}
        ratio = medians["nginx"] / medians["lighttpd"]
        stock = medians["nginx_stock"] / medians["lighttpd"]
        result["workloads"][workload.key] = {
            "label": workload.label, "h2load": f"{workload.options} {workload.path}", "unit": workload.unit,
            "median": {s: round(v, 2) for s, v in medians.items()}, "failed_or_not_2xx": bad,
            "ratio_nginx_to_lighttpd": round(ratio, 3), "ratio_nginx_stock_to_lighttpd": round(stock, 3),
            "runs": runs[workload.key]}
        rows.append((f"{workload.label} ({workload.unit})", f"{medians['nginx']:.1f}",
                     f"{medians['nginx_stock']:.1f}", f"{medians['lighttpd']:.1f}", f"{ratio:.2f}",
                     f"{stock:.2f}", "/".join(str(bad[s]) for s in SERVERS)))
    if migration:
        result["migration"] = migration
        for label, key in (("migration: failed downloads", "failed"),
                           ("migration: longest gap (s)", "longest_gap")):
            rows.append((label, str(migration.get(key)), "-", "-", "-", "-", "-"))
    finish((f"{args.web}, median of {args.rounds}", "nginx (role)", "nginx (stock)", "lighttpd",
            "role/lighttpd", "stock/lighttpd", "failed role/stock/lighttpd"), rows, result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
