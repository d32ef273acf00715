#!/usr/bin/env bash
# Installs the Debian packages the integration tier needs (Alertmanager, Prometheus and promtool, and
# PostgreSQL, run for real; openssl, which makes the test servers' certificates), if they are missing.
# Needs root or sudo; does nothing when everything is present. The postgresql package also creates the
# `postgres` user, which the harness runs the server as when the tests run as root (PostgreSQL refuses root).
set -euo pipefail

missing=()
[[ -x /usr/bin/prometheus-alertmanager ]] || missing+=(prometheus-alertmanager)
{ [[ -x /usr/bin/prometheus ]] && command -v promtool >/dev/null 2>&1; } || missing+=(prometheus)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "integration tests need these Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing Debian packages for the integration tests: ${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
