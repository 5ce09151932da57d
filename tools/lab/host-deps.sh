#!/usr/bin/env bash
# Make this Debian machine able to run the lab: docker.io, debootstrap, apt-cacher-ng and
# graphviz installed, dockerd and apt-cacher-ng running. Idempotent; says why and how to fix when it can't.
set -euo pipefail

log=/var/log/heroes-lab-dockerd.log
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
[ -x /usr/sbin/apt-cacher-ng ] || need+=(apt-cacher-ng)
command -v dot >/dev/null 2>&1 || need+=(graphviz)  # make topology, and its tests

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "host-deps: missing ${need[*]}; run as root (or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "host-deps: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# apt-cacher-ng: one download of each .deb per machine, shared by the images and every
# container. Debian's default backend for /debian is ftp.debian.org; use the mirror the host
# itself uses.
if [ ! -s /etc/apt-cacher-ng/backends_debian ]; then
  echo 'http://deb.debian.org/debian/' > /etc/apt-cacher-ng/backends_debian
  pkill -x apt-cacher-ng 2>/dev/null || true
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null; then
  service apt-cacher-ng start >/dev/null 2>&1 || /usr/sbin/apt-cacher-ng -c /etc/apt-cacher-ng || true
  for _ in $(seq 1 20); do (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null && break; sleep 0.25; done
  if ! (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null; then
    echo "host-deps: warning: apt-cacher-ng did not start; containers will fetch packages directly" >&2
  fi
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi
if pgrep -x dockerd >/dev/null 2>&1; then
  echo "host-deps: a dockerd runs but 'docker info' fails:" >&2
  { docker info 2>&1 || true; } | grep -v '^ *$' | tail -n 2 | sed 's/^/  /' >&2
  echo "host-deps: check DOCKER_HOST (now '${DOCKER_HOST:-unset}') and $log; nothing of the lab was created" >&2
  exit 1
fi
echo "host-deps: starting dockerd (log: $log)"
# --live-restore keeps the lab's containers running when dockerd itself restarts.
nohup dockerd --live-restore >"$log" 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  pgrep -x dockerd >/dev/null 2>&1 || break
  sleep 0.5
done
echo "host-deps: dockerd could not be started. Its last log lines:" >&2
tail -n 15 "$log" >&2 || true
cat >&2 <<'HELP'
host-deps: nothing of the lab was created. To fix:
  - run as root on a Debian machine (or a VM) that allows nested containers;
  - if another container runtime holds /var/run/docker.sock, stop it or point DOCKER_HOST at it;
  - read the log above for the kernel feature (overlay, cgroups, iptables) that is missing.
HELP
exit 1
