#!/usr/bin/env bash
# Verifies the deployment files with the real tools, where they can be installed:
#   systemd-analyze verify on both units, nginx -t on the proxy configuration.
# Exit 0 when every available check passes; a missing tool is reported as SKIPPED, not as a pass.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0

if command -v systemd-analyze >/dev/null 2>&1; then
  # The units name /opt/kansenkluis/.venv/bin/kluis; point them at this checkout's kluis for the check.
  kluis="${KLUIS_BIN:-$(cd "$here/.." && pwd)/.venv/bin/kluis}"
  for unit in "$here"/systemd/*.service; do
    sed -e "s#/opt/kansenkluis/.venv/bin/kluis#$kluis#" "$unit" > "$work/$(basename "$unit")"
  done
  if out=$(systemd-analyze verify --man=no "$work"/*.service 2>&1); then
    # verify prints warnings for unknown users on a build machine; anything else is a failure
    bad=$(printf '%s\n' "$out" | grep -v -E "^$|User=|Group=|kluis-(api|sealed)" || true)
    if [ -n "$bad" ]; then echo "$bad"; echo "systemd-analyze: FAILED"; status=1; else echo "systemd-analyze verify: OK"; fi
  else
    echo "$out"; echo "systemd-analyze: FAILED"; status=1
  fi
else
  echo "systemd-analyze: SKIPPED (not installed)"
fi

if command -v nginx >/dev/null 2>&1; then
  mkdir -p "$work/tls" "$work/logs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=kansenkluis.test" \
    -keyout "$work/tls/server.key" -out "$work/tls/server.crt" >/dev/null 2>&1
  cp "$work/tls/server.crt" "$work/tls/client-ca.crt"
  sed -e "s#/etc/kansenkluis/tls#$work/tls#g" "$here/nginx/kansenkluis.conf" > "$work/site.conf"
  cat > "$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/logs/error.log;
events {}
http {
  access_log $work/logs/access.log;
  include $work/site.conf;
}
CONF
  if nginx -t -p "$work" -c "$work/nginx.conf" 2>&1; then echo "nginx -t: OK"; else echo "nginx -t: FAILED"; status=1; fi
else
  echo "nginx: SKIPPED (not installed)"
fi
exit $status
