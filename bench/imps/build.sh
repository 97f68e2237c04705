#!/bin/sh
# Builds banzaicloud/imps (the controller pullsecret-sync replaces) from source at a pinned commit, for
# the side-by-side benchmark (bench/imps/compare.ts). On the project's machines the source is the archive
# in ../shared/peers/ (see its README); elsewhere it is cloned from GitHub. Go dependencies come from the
# Go module proxy. Prints the path of the built controller.
# Usage: bench/imps/build.sh   (IMPS_CACHE overrides the build directory)
set -eu
COMMIT=e44f7929eceb9b91c7cbaaf6e98fcbe45bf3484f
here=$(cd "$(dirname "$0")" && pwd)
archive="$here/../../../shared/peers/imps-e44f792.tar.gz"
[ -f "$archive" ] || archive=/work/shared/peers/imps-e44f792.tar.gz
cache=${IMPS_CACHE:-$HOME/.cache/pullsecret-sync/imps-e44f792}
bin="$cache/imps/bin/imps-controller"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  if [ -f "$archive" ]; then
    tar -xzf "$archive" -C "$cache"
  else
    git clone --quiet https://github.com/banzaicloud/imps "$cache/imps"
    git -C "$cache/imps" checkout --quiet "$COMMIT"
  fi
  (cd "$cache/imps" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o bin/imps-controller ./cmd/controller/) >&2
fi
echo "$bin"
