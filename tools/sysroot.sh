# Shared by tools/bootstrap, tools/bazel and tools/lint: where the sysroot is
# and how to run a command inside it. Source it; do not execute it.
#
# Commands run chrooted into the sysroot inside one persistent, private mount
# namespace (pinned at $SYSROOT_NAMESPACE). Its mounts (proc, sys, dev, the
# repository, Bazel's output root) never appear on the host, so deleting the
# sysroot can never reach the host's /dev, and every client sees the Bazel
# server's working directory at the same path (Bazel restarts a server whose
# cwd looks moved). `umount $SYSROOT_NAMESPACE` releases it.

SYSROOT=${CUPRUM_SYSROOT:-/var/lib/cuprum/sysroot}
# Bazel's output user root, bind-mounted at the same path inside the sysroot
# so the bazel-* convenience symlinks resolve on the host too.
BAZEL_OUTPUT_ROOT=${CUPRUM_BAZEL_OUTPUT_ROOT:-/var/cache/cuprum/bazel}
SYSROOT_NAMESPACE=/run/cuprum/mnt-$(printf '%s' "$SYSROOT" | sha256sum | cut -c1-12)

# Fixed paths inside the sysroot (the WORKSPACE refers to them).
PYDEPS_DIR=/opt/cuprum/pydeps
LINT_DIR=/opt/cuprum/lint
CRATES_DIR=/opt/cuprum/crates

die() {
  printf 'error: %s\n' "$*" >&2
  exit 2
}

# Create the pinned namespace with the sysroot's system mounts, once. A pin
# whose mounts no longer sit in this sysroot (it was deleted and built
# again) is released and made afresh.
_sysroot_namespace() {
  if nsenter --mount="$SYSROOT_NAMESPACE" true 2>/dev/null; then
    nsenter --mount="$SYSROOT_NAMESPACE" mountpoint -q "$SYSROOT/proc" && return 0
    umount "$SYSROOT_NAMESPACE" 2>/dev/null || true
  fi
  local dir=${SYSROOT_NAMESPACE%/*}
  mkdir -p "$dir"
  # A namespace can only be pinned on a private mount.
  if ! mountpoint -q "$dir"; then
    mount --bind "$dir" "$dir" && mount --make-private "$dir"
  fi
  touch "$SYSROOT_NAMESPACE"
  unshare --mount="$SYSROOT_NAMESPACE" --propagation private -- /bin/bash -c '
    set -e
    root=$1
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root/dev/shm" && mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
    for file in /etc/resolv.conf /etc/hosts; do
      [[ -e $root$file ]] || touch "$root$file"
      mount --bind "$file" "$root$file"
    done
  ' sysroot-namespace "$SYSROOT" || die "could not set up the sysroot's mount namespace"
}

# in_sysroot CMD [ARG...]: run CMD inside the sysroot, with the repository
# ($repo) and the Bazel output root mounted at their host paths and the
# current directory preserved. Returns CMD's exit status.
in_sysroot() {
  [[ -x $SYSROOT/bin/bash ]] || die "no sysroot at $SYSROOT; run tools/bootstrap first"
  mkdir -p "$BAZEL_OUTPUT_ROOT"
  _sysroot_namespace
  local keep=(HOME=/root "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    LANG=C.UTF-8 "TERM=${TERM:-dumb}" "USER=${USER:-root}")
  local name
  for name in $(compgen -e); do
    case $name in
      CUPRUM_* | http_proxy | https_proxy | no_proxy | HTTP_PROXY | HTTPS_PROXY | NO_PROXY)
        keep+=("$name=${!name}")
        ;;
    esac
  done
  REPO=$repo OUT=$BAZEL_OUTPUT_ROOT nsenter --mount="$SYSROOT_NAMESPACE" -- /bin/bash -c '
    set -e
    root=$1 cwd=$2
    shift 2
    # Bind the repository and the output root at their host paths; rebind a
    # path whose directory was replaced on the host (a fresh clone, say).
    for dir in "$REPO" "$OUT"; do
      if [[ $(stat -c %d:%i "$dir") != $(stat -c %d:%i "$root$dir" 2>/dev/null) ]]; then
        mountpoint -q "$root$dir" && umount -l "$root$dir"
        mkdir -p "$root$dir" && mount --bind "$dir" "$root$dir"
      fi
    done
    [[ -d $root$cwd ]] || cwd=/
    exec chroot "$root" /bin/bash -c "cd \"\$1\" && shift && exec \"\$@\"" sysroot "$cwd" "$@"
  ' sysroot "$SYSROOT" "$PWD" /usr/bin/env -i "${keep[@]}" "$@"
}
