#!/usr/bin/env bash
# Checks deploy/helpdeskd.service with systemd-analyze verify. verify fails a unit whose
# ExecStart binary does not exist ("Command … is not executable"), so the unit is copied to a
# temporary directory with ExecStart pointing at a binary built there with the release flags
# (or at the binary given as $1), and that copy is verified; any warning fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-analyze is not installed (Debian: apt-get install systemd)" >&2
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/helpdeskd-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

bin=${1:-}
if [ -z "$bin" ]; then
	bin=$tmp/helpdeskd
	CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$bin" ./cmd/helpdeskd
fi
bin=$(realpath "$bin")
# The copy keeps the unit's name: verify checks it against the file name.
sed "s|^ExecStart=/usr/local/bin/helpdeskd |ExecStart=$bin |" deploy/helpdeskd.service >"$tmp/helpdeskd.service"
grep -q "^ExecStart=$bin " "$tmp/helpdeskd.service" || { echo "ExecStart= not found in deploy/helpdeskd.service" >&2; exit 1; }

out=$(systemd-analyze verify "$tmp/helpdeskd.service" 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then
	echo "$out" >&2
	exit 1
fi
echo "deploy/helpdeskd.service: systemd-analyze verify clean ($(systemd-analyze --version | head -1))"
systemd-analyze security --offline=yes "$tmp/helpdeskd.service" 2>/dev/null | tail -1 || true
