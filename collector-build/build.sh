#!/usr/bin/env bash
# Builds the OpenTelemetry Collector distribution (manifest.yaml, with the official builder) and Jaeger v2
# (jaeger/go.mod) from source with Go, into a cache outside the work tree keyed by the build inputs:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/otel-agentperf/engines-<hash>/{otelcol-agentperf,jaeger}
# A second run finds them there and builds nothing. Go's module and build caches (GOMODCACHE, GOCACHE) are reused.
#   build.sh          build what is missing, print the folder
#   build.sh --dir    print the folder only (it may not hold the binaries yet)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
builder_version=v0.161.0

key="$(cat "$here/manifest.yaml" "$here/jaeger/go.mod" "$here/jaeger/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/otel-agentperf/engines-$key"
if [[ "${1:-}" == "--dir" ]]; then
  echo "$dir"
  exit 0
fi
if [[ -x "$dir/otelcol-agentperf" && -x "$dir/jaeger" ]]; then
  echo "$dir"
  exit 0
fi
command -v go >/dev/null || { echo "Go is needed to build the Collector and Jaeger (go.dev/dl)" >&2; exit 1; }

mkdir -p "$(dirname "$dir")"
work="$(mktemp -d "${dir}.partial.XXXXXX")"
trap 'rm -rf "$work"' EXIT
started=$SECONDS
if [[ ! -x "$dir/otelcol-agentperf" ]]; then
  echo "building the Collector distribution (collector-build/manifest.yaml) in $work" >&2
  GOBIN="$work/bin" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version"
  sed "s#^  output_path: .*#  output_path: $work/otelcol#" "$here/manifest.yaml" > "$work/manifest.yaml"
  "$work/bin/builder" --config "$work/manifest.yaml" >"$work/builder.log" 2>&1 || { cat "$work/builder.log" >&2; exit 1; }
  mkdir -p "$dir"
  mv "$work/otelcol/otelcol-agentperf" "$dir/otelcol-agentperf"
fi
collector_done=$SECONDS
if [[ ! -x "$dir/jaeger" ]]; then
  echo "building Jaeger (collector-build/jaeger/go.mod)" >&2
  (cd "$here/jaeger" && go build -trimpath -ldflags="-s -w" -o "$work/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger)
  mkdir -p "$dir"
  mv "$work/jaeger" "$dir/jaeger"
fi
echo "collector $((collector_done - started)) s, jaeger $((SECONDS - collector_done)) s" > "$dir/build-seconds.txt"
echo "$dir"
