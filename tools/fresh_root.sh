#!/usr/bin/env bash
# Runs a command inside a fresh Debian 12 (bookworm) root, the way a new user's machine starts:
# nothing installed but Debian's minimal base, the checkout's HEAD cloned into /work/octet (a
# clean `git clone`: uncommitted changes are not in it) and ../shared copied beside it.
#
#   tools/fresh_root.sh [--keep] COMMAND [ARG...]     e.g. tools/fresh_root.sh bash tools/test.sh
#
# The root is made with debootstrap (variant minbase) from the package mirror this machine's apt
# uses, trusts the same certificate authorities, and has /proc and /dev mounted while the command
# runs. Exits with the command's status. Needs root. --keep leaves the root in place (its path is
# printed) instead of deleting it.
#
# Downloads are reused, installs are not: debootstrap's packages and the .deb files apt downloads
# in the root are kept in /var/cache/octet/fresh-root (OCTET_FRESH_ROOT_CACHE), and the compiler
# cache of tools/build_env.sh (/var/cache/octet/ccache, OCTET_CCACHE_DIR) is mounted into the root
# at the same path; every package is still unpacked and installed into the new root by the
# command itself. OCTET_FRESH_ROOT_CACHE=none keeps nothing.
set -euo pipefail
# The whole script is one function, read before it runs: editing this file while a run is under
# way cannot change what that run does.
main() {
  # Everything mounted here lives in a mount namespace of this script's own, so it goes when the
  # script ends, however it ends: a killed run leaves none of this machine's caches mounted inside
  # a root that a later rm could walk into.
  if [ -z "${OCTET_FRESH_ROOT_NAMESPACE:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    exec env OCTET_FRESH_ROOT_NAMESPACE=1 unshare --mount --propagation private bash "$0" "$@"
  fi
  keep=0
  if [ "${1:-}" = "--keep" ]; then keep=1; shift; fi
  if [ $# -eq 0 ]; then
    echo "usage: $0 [--keep] COMMAND [ARG...]" >&2
    exit 2
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "fresh_root: needs root (debootstrap, chroot, mount)" >&2
    exit 2
  fi
  top=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
  head=$(git -C "$top" rev-parse HEAD)
  if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
    echo "fresh_root: note: uncommitted changes in $top are not part of the clone (HEAD $head)"
  fi

  # The first Debian mirror of this machine's apt sources (deb822 or one-line format).
  mirror=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' "$f")
    [ -n "$mirror" ] && break
  done
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $0 ~ /bookworm/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  if [ -z "$mirror" ]; then
    echo "fresh_root: no Debian mirror found in this machine's apt sources" >&2
    exit 2
  fi

  if ! command -v debootstrap >/dev/null; then
    echo "fresh_root: installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi

  if [[ "${FRESH_ROOT_PARENT:-/var/tmp}" =~ [[:space:]] ]]; then
    echo "fresh_root: FRESH_ROOT_PARENT must not contain white space" >&2
    exit 2
  fi
  root=$(mktemp -d "${FRESH_ROOT_PARENT:-/var/tmp}/octet-fresh-root.XXXXXX")
  chmod 755 "$root"  # its / : apt's _apt user must reach /var/lib/apt
  mounted=()
  cleanup() {
    local status=$?
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
      umount -R "${mounted[$i]}" 2>/dev/null || umount -R -l "${mounted[$i]}" || true
    done
    if [ "$keep" -eq 1 ]; then
      echo "fresh_root: kept $root"
    elif grep -qF " $root/" /proc/self/mountinfo; then
      echo "fresh_root: $root still has mounts; not deleting it" >&2
    else
      rm -rf --one-file-system "$root"
    fi
    exit "$status"
  }
  trap cleanup EXIT

  cache=${OCTET_FRESH_ROOT_CACHE:-/var/cache/octet/fresh-root}
  ccache_dir=${OCTET_CCACHE_DIR:-/var/cache/octet/ccache}
  debootstrap_cache=()
  if [ "$cache" != none ]; then
    mkdir -p "$cache/debootstrap" "$cache/apt-archives/partial" "$ccache_dir"
    debootstrap_cache=(--cache-dir="$(readlink -f "$cache/debootstrap")")
  fi

  start=$(date +%s)
  echo "fresh_root: debootstrap bookworm (minbase) from $mirror into $root"
  debootstrap --variant=minbase --include=ca-certificates,git "${debootstrap_cache[@]}" bookworm "$root" "$mirror" \
    >"$root.debootstrap.log" 2>&1 || { tail -30 "$root.debootstrap.log"; rm -f "$root.debootstrap.log"; exit 1; }
  rm -f "$root.debootstrap.log"

  # The same package sources and acquire settings as this machine, and its certificate authorities.
  rm -f "$root/etc/apt/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && cp "$f" "$root$f"
  done
  for f in /etc/apt/apt.conf.d/*; do
    [ -f "$f" ] && grep -q '^Acquire::' "$f" && cp "$f" "$root$f"
  done
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
  # Packages installed in the root must not start services.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"

  mount -t proc proc "$root/proc"
  mounted+=("$root/proc")
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev"
  mounted+=("$root/dev")
  if [ "$cache" != none ]; then
    mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
    mounted+=("$root/var/cache/apt/archives")
    mkdir -p "$root/var/cache/octet/ccache"
    mount --bind "$ccache_dir" "$root/var/cache/octet/ccache"
    mounted+=("$root/var/cache/octet/ccache")
    echo "fresh_root: reusing downloads in $cache and the compiler cache $ccache_dir"
  fi

  chroot "$root" update-ca-certificates >/dev/null
  mkdir -p "$root/work"
  git clone --quiet "$top" "$root/work/octet"
  git -C "$root/work/octet" checkout --quiet --detach "$head"
  if [ -d "$top/../shared" ]; then
    cp -a "$(readlink -f "$top/../shared")" "$root/work/shared"
    chmod -R a-w "$root/work/shared"
  fi
  echo "fresh_root: root ready in $(( $(date +%s) - start )) s; running: $*"

  set +e
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" bash -c 'cd /work/octet && exec "$@"' fresh_root "$@"
  status=$?
  set -e
  echo "fresh_root: command exited with $status after $(( $(date +%s) - start )) s in all"
  exit "$status"
}
main "$@"
