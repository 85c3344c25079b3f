#!/usr/bin/env bash
# Lays out the Lambda code directory for template.yaml: the same executable as on Azure, named bootstrap.
# Usage (from the repo root): make build && infra/aws/build.sh && sam deploy --guided -t infra/aws/template.yaml
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/bin/handler"
out="$root/infra/aws/.build"
if [ ! -x "$src" ]; then
  echo "build.sh: $src is missing; run make build first" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
install -m 0755 "$src" "$out/bootstrap"
echo "build.sh: $out/bootstrap ready"
