#!/bin/sh
# The "build system" of the example: assembles a release tree in $1 from this folder.
set -e
dest="$1"
version="$(cat VERSION)"
mkdir -p "$dest/hello-$version/bin" "$dest/hello-$version/share/doc/hello"
sed "s/^# hello:/# hello $version:/" hello.sh > "$dest/hello-$version/bin/hello"
chmod 0755 "$dest/hello-$version/bin/hello"
cp README "$dest/hello-$version/share/doc/hello/README"
# A build-time manifest: sorted, and dated by SOURCE_DATE_EPOCH, never by the clock.
date -u -d "@$SOURCE_DATE_EPOCH" '+built %Y-%m-%dT%H:%M:%SZ' > "$dest/hello-$version/BUILDINFO"
(cd "$dest/hello-$version" && find . -type f | LC_ALL=C sort) >> "$dest/hello-$version/BUILDINFO"
