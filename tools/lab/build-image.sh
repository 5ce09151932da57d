#!/usr/bin/env bash
# Build a systemd + python3 base image for the lab from debootstrap and `docker import`.
# Usage: tools/lab/build-image.sh debian12|debian13
# The image is rebuilt only when its recipe (this script and the arguments) changes: the recipe's
# hash is stored as the label org.heroes-infra.recipe and compared before building.
set -euo pipefail

name=${1:?usage: $0 debian12|debian13}
case "$name" in
  debian12) suite=bookworm ;;
  debian13) suite=trixie ;;
  *) echo "build-image: unknown image '$name' (expected debian12 or debian13)" >&2; exit 2 ;;
esac

image="lab/$name"
mirror_host=${HEROES_LAB_MIRROR_HOST:-deb.debian.org}
# python3 and python3-apt are what a managed host needs before Ansible can run on it (the apt
# module cannot even run in check mode without python3-apt).
include="systemd,systemd-sysv,python3,python3-apt,iproute2,procps,ca-certificates,dbus,sudo"
# The recipe: everything that decides what ends up in the image.
recipe=$( { cat "$0"; echo "$suite $mirror_host $include"; } | sha256sum | cut -c1-16)

current=$(docker image inspect -f '{{ index .Config.Labels "org.heroes-infra.recipe" }}' "$image" 2>/dev/null || true)
if [ "$current" = "$recipe" ]; then
  echo "build-image: $image is up to date (recipe $recipe)"
  exit 0
fi

# Fetch through the host's apt-cacher-ng when it runs, so each .deb is downloaded once.
if (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null; then
  mirror="http://127.0.0.1:3142/$mirror_host/debian"
else
  mirror="http://$mirror_host/debian"
fi

workdir=$(mktemp -d /var/tmp/heroes-lab-image.XXXXXX)
trap 'umount "$workdir/rootfs/proc" 2>/dev/null || true; rm -rf --one-file-system "$workdir"' EXIT
rootfs="$workdir/rootfs"

echo "build-image: building $image from Debian $suite (recipe $recipe, mirror $mirror)"
start=$SECONDS
debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror" > "$workdir/debootstrap.log" 2>&1 || {
  echo "build-image: debootstrap failed; last lines of its log:" >&2
  tail -n 20 "$workdir/debootstrap.log" >&2
  exit 1
}

# Sources: the release, its updates and its security suite, from the public mirror.
rm -f "$rootfs/etc/apt/sources.list"
cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://$mirror_host/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://$mirror_host/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

# Lab only: use the host's apt-cacher-ng (on the container's default gateway) when it answers,
# and go direct otherwise.
cat > "$rootfs/usr/local/sbin/heroes-lab-apt-proxy" <<'DETECT'
#!/bin/bash
gw=$(ip route show default 2>/dev/null | awk '{print $3; exit}')
if [ -n "$gw" ] && timeout 1 bash -c "exec 3<>/dev/tcp/$gw/3142" 2>/dev/null; then
  echo "http://$gw:3142"
else
  echo DIRECT
fi
DETECT
chmod 0755 "$rootfs/usr/local/sbin/heroes-lab-apt-proxy"
echo 'Acquire::http::Proxy-Auto-Detect "/usr/local/sbin/heroes-lab-apt-proxy";' \
  > "$rootfs/etc/apt/apt.conf.d/01heroes-lab-proxy"

# Package lists for the final sources, as a freshly installed Debian host has them (without
# them `apt` in --check mode finds no package at all).
rm -rf "$rootfs"/var/lib/apt/lists/*
proxy_opt=()
case "$mirror" in http://127.0.0.1:3142/*) proxy_opt=(-o Acquire::http::Proxy=http://127.0.0.1:3142) ;; esac
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
chroot "$rootfs" apt-get "${proxy_opt[@]}" -o Acquire::http::Proxy-Auto-Detect= -qq update \
  > "$workdir/apt-update.log" 2>&1 || {
  echo "build-image: apt-get update in the new image failed:" >&2
  tail -n 10 "$workdir/apt-update.log" >&2
  exit 1
}
# The release's updates and security fixes installed, as Debian's installer does on a new host:
# an image starts where a kept host is, so the tests' patch window finds only the update a test
# publishes (playbooks/lab/patch-canary.yml) and the hosts do not drift from the images' day to
# the window's (an OpenSSL update changes what the nginx role writes). No service starts in the
# chroot (policy-rc.d).
printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
mount -t proc proc "$rootfs/proc"
upgraded=0
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get "${proxy_opt[@]}" \
  -o Acquire::http::Proxy-Auto-Detect= -o Dpkg::Options::=--force-confold -qq -y dist-upgrade \
  > "$workdir/apt-upgrade.log" 2>&1 || upgraded=$?
umount "$rootfs/proc"
rm -f "$rootfs/usr/sbin/policy-rc.d"
if [ "$upgraded" != 0 ]; then
  echo "build-image: installing the release's updates in the new image failed:" >&2
  tail -n 10 "$workdir/apt-upgrade.log" >&2
  exit 1
fi
echo "build-image: $(grep -c '^Unpacking' "$workdir/apt-upgrade.log" || true) update(s) of $suite-updates and $suite-security installed"
: > "$rootfs/etc/resolv.conf"

# Every container gets its own machine id; no cached packages in the image.
: > "$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin
# Units that make no sense in a container and only log failures.
for unit in getty.target systemd-remount-fs.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done

tar -C "$rootfs" -c . | docker import \
  -c 'CMD ["/sbin/init"]' \
  -c "LABEL org.heroes-infra.recipe=$recipe" \
  - "$image" > /dev/null
echo "build-image: $image built in $((SECONDS - start)) s"
