#!/bin/sh
# Build the LiveStreamX container image without an image registry:
#   1. `make install` the programs and man pages into CONTEXT/root;
#   2. mmdebstrap a Debian 12 root file system (variant "essential") holding
#      the Debian packages of the shared libraries the programs load (read
#      from ldd), the GStreamer plugins they create elements from, nginx and
#      ca-certificates, plus a user cs (uid 10001) and the folders nginx
#      writes, owned by it -> CONTEXT/rootfs.tar;
#   3. buildah (or podman) builds deploy/image/Containerfile on CONTEXT.
# The archive is the one this machine's apt uses (its sources file is given
# to mmdebstrap), so the image's packages are the host's Debian 12 ones.
#
# usage: deploy/image/build.sh [-t TAG] [-C CONTEXT]
#   TAG defaults to livestreamx:VERSION, CONTEXT to build/image.
# Exit status: 0 built; 1 a step failed; 2 usage; 77 a tool is missing
# (mmdebstrap, and buildah or podman).
set -eu
cd "$(dirname "$0")/../.."

tag="livestreamx:$(cat VERSION)"
ctx=build/image
while getopts t:C: o; do
    case $o in
    t) tag=$OPTARG ;;
    C) ctx=$OPTARG ;;
    *) echo "usage: $0 [-t TAG] [-C CONTEXT]" >&2; exit 2 ;;
    esac
done

die() { echo "build.sh: $1" >&2; exit "${2:-1}"; }

command -v mmdebstrap >/dev/null 2>&1 || die "'mmdebstrap': not installed" 77
if command -v buildah >/dev/null 2>&1; then
    bud="buildah bud --isolation chroot"
elif command -v podman >/dev/null 2>&1; then
    bud="podman build"
else
    die "'buildah': not installed (nor podman)" 77
fi

# The archive: this machine's apt sources (deb822 or one-line format).
sources=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ]; then sources=$f; break; fi
done
[ -n "$sources" ] || die "'/etc/apt/sources.list': no Debian archive configured"

make -j2 build >&2
rm -rf "$ctx"
mkdir -p "$ctx"
make --no-print-directory install DESTDIR="$PWD/$ctx/root" PREFIX=/usr/local >&2
# the channel wrapper of deploy/k8s and deploy/systemd
install -D -m 755 deploy/systemd/cs-channel.sh "$ctx/root/usr/local/lib/livestreamx/cs-channel"

# The Debian packages holding the libraries the programs load (Debian 12
# is merged-/usr: ldd may name /lib/X where dpkg knows /usr/lib/X, or a
# symbolic link made by ldconfig that only its target is known by).
libs=$(ldd bin/cs-* | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
# every spelling of each library, asked of dpkg at once
names=$(for l in $libs; do
            echo "$l"; echo "/usr${l#/usr}"; echo "${l#/usr}"; readlink -f "$l"
        done | sort -u)
# shellcheck disable=SC2086 # one argument a path
owners=$(dpkg -S $names 2>/dev/null | grep -v '^diversion' || true)
known=$(printf '%s\n' "$owners" | sed 's/^.*: //')
for l in $libs; do
    r=$(readlink -f "$l")
    printf '%s\n' "$known" | grep -qxF -e "$l" -e "/usr${l#/usr}" -e "${l#/usr}" \
        -e "$r" -e "/usr${r#/usr}" -e "${r#/usr}" ||
        die "'$l': no Debian package holds it"
done
pkgs=$(printf '%s\n' "$owners" | cut -d: -f1 | sort -u | tr '\n' ',')
# Loaded at run time, not seen by ldd: webrtcbin, dtls, mpegts, rtp
# (de)payloaders, nice; the edge; TLS roots for S3 and HTTPS sources.
pkgs="${pkgs}gstreamer1.0-plugins-base,gstreamer1.0-plugins-good"
pkgs="$pkgs,gstreamer1.0-plugins-bad,gstreamer1.0-nice,nginx-light,ca-certificates"

# User cs (10001), its home, and the folders nginx writes (cache, temp,
# pid), owned by it: the image runs as cs with a read-only root where the
# deployment mounts these.
# shellcheck disable=SC2016 # expanded by mmdebstrap, $1 is the root
user_hook='echo "cs:x:10001:10001:LiveStreamX:/home/cs:/usr/sbin/nologin" >> "$1/etc/passwd"
echo "cs:x:10001:" >> "$1/etc/group"
echo "cs:!:19000::::::" >> "$1/etc/shadow"
mkdir -p "$1/home/cs" "$1/var/cache/nginx" "$1/var/lib/nginx" "$1/run/nginx"
chown -R 10001:10001 "$1/home/cs" "$1/var/cache/nginx" "$1/var/lib/nginx" "$1/run/nginx"
rm -rf "$1/var/lib/apt/lists"/* "$1/var/cache/apt"/*.bin'

mmdebstrap --variant=essential --include="$pkgs" \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --customize-hook="$user_hook" \
    bookworm "$ctx/rootfs.tar" "$sources" >&2

cp deploy/image/Containerfile "$ctx/Containerfile"
$bud -f "$ctx/Containerfile" -t "$tag" "$ctx" >&2
echo "$tag"
