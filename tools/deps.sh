#!/bin/bash
# Installs what rawlb needs to build, run its demo and run its tests on Debian 12 (as root).
# Packages already present are left alone, so it is quick on a prepared box.
# chromium: test_webui loads the web status page in it, headless.
# dpkg-dev, systemd, groff-base, man-db: the Debian package (cpack -G DEB) and its test,
# package.test_deb: dpkg-shlibdeps and dpkg-parsechangelog, systemd-analyze verify, the man
# pages rendered by groff and man (also test/man/check_manpage.py).
# exabgp, bird2: the scale-out test and demo (directors announce their VIPs with ExaBGP, a
# router namespace runs BIRD with ECMP).
set -euo pipefail
PKGS="build-essential cmake pkg-config libpcap-dev libnet1-dev libev-dev libmicrohttpd-dev
      nginx-light curl python3 iproute2 tcpdump iputils-ping iputils-arping ethtool socat procps
      valgrind wrk iperf3 haproxy nftables gnuplot-nox libsodium-dev libseccomp-dev libsystemd-dev clang
      dnsmasq-base dnsutils chromium dpkg-dev systemd groff-base man-db exabgp bird2"
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
[ -z "$missing" ] && exit 0
[ "$(id -u)" = 0 ] || { echo "tools/deps.sh: run as root to install:" $missing >&2; exit 1; }
echo "installing:" $missing
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
