#!/bin/sh
# Builds banzaicloud/imps (the controller pullsecret-sync replaces) from source at a pinned commit, for
# the side-by-side benchmark (bench/imps/compare.ts). The source is a `git archive` of that commit under
# `imps/`: $IMPS_ARCHIVE, else the first shared/peers/imps-e44f792.tar.gz found in the repository's
# folder or a folder above it (the project's machines keep it there). Go dependencies come from the Go
# module proxy. Prints the path of the built controller.
# Usage: bench/imps/build.sh   (IMPS_ARCHIVE names the archive; IMPS_CACHE overrides the build directory,
# else it is imps-e44f792 in $PULLSECRET_SYNC_CACHE_DIR, like the testbed's binaries)
set -eu
case "${1:-}" in
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) echo "bench/imps/build.sh: takes no arguments (see --help)" >&2; exit 2 ;;
esac
COMMIT=e44f7929eceb9b91c7cbaaf6e98fcbe45bf3484f
NAME=imps-e44f792.tar.gz
cache=${IMPS_CACHE:-${PULLSECRET_SYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pullsecret-sync}/imps-e44f792}
bin="$cache/imps/bin/imps-controller"

find_archive() {
  if [ -n "${IMPS_ARCHIVE:-}" ]; then
    [ -f "$IMPS_ARCHIVE" ] || { echo "bench/imps/build.sh: IMPS_ARCHIVE=$IMPS_ARCHIVE is not a file" >&2; exit 1; }
    echo "$IMPS_ARCHIVE"
    return
  fi
  dir=$(cd "$(dirname "$0")/../.." && pwd)
  while :; do
    if [ -f "$dir/shared/peers/$NAME" ]; then echo "$dir/shared/peers/$NAME"; return; fi
    [ "$dir" = / ] && break
    dir=$(dirname "$dir")
  done
  cat >&2 <<MSG
bench/imps/build.sh: no IMPS source archive. Make one of banzaicloud/imps at $COMMIT:
  git clone https://github.com/banzaicloud/imps && git -C imps archive --prefix=imps/ -o $NAME $COMMIT
then set IMPS_ARCHIVE to its path, or put it in shared/peers/ of the repository's folder or one above it.
MSG
  exit 1
}

if [ ! -x "$bin" ]; then
  archive=$(find_archive)
  mkdir -p "$cache"
  # One build at a time (a test run builds it in its background while a test may ask for it).
  exec 9>"$cache/.lock"
  flock 9
  if [ ! -x "$bin" ]; then
    tar -xzf "$archive" -C "$cache"
    (cd "$cache/imps" && GOGC="${GOGC:-400}" GOTOOLCHAIN=local CGO_ENABLED=0 go build -o bin/imps-controller ./cmd/controller/) >&2
  fi
  exec 9>&-
fi
echo "$bin"
