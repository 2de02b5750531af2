#!/usr/bin/env bash
# Debian packages the tests need. Installs only when run as root and something is missing;
# otherwise says what is missing (under CI=true a test that needs it then fails, not skips).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
# The PostgreSQL run of tests/db starts a throwaway cluster from these binaries.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
# The TURN tests (tests/turn) start a real coturn on loopback.
command -v turnserver >/dev/null 2>&1 || need+=(coturn)
# The scale-out tests (tests/cluster) start a real redis-server on loopback.
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The deploy tests check deploy/nginx.conf with nginx itself (nginx -t, and a real proxy).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
# The NAT lab (make nat-lab, tests/test_nat_lab.py) builds network namespaces (ip) with
# nftables routers and adds delay with tc netem (iproute2); openssl makes coturn's cert.
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need+=(iproute2)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${need[*]}; install them with apt-get as root" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
