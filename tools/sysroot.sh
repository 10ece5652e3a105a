# shellcheck shell=bash disable=SC2034  # sourced; its variables are for the sourcing scripts
# Shared by tools/bootstrap, tools/bazel, tools/lint, tools/remote-cache and
# tools/remote-exec: where the sysroot is and how to run a command inside it.
# Source it; do not execute it.
#
# Commands run chrooted into the sysroot inside one persistent, private mount
# namespace. Its mounts (proc, sys, dev, the repository, Bazel's output root)
# never appear on the host, so deleting the sysroot can never reach the
# host's /dev, and every client sees the Bazel server's working directory at
# the same path (Bazel restarts a server whose cwd looks moved).
#
# Two modes, chosen by who runs the tools (see docs/bazel.md):
# - root: the mount namespace is pinned on a file ($SYSROOT_NAMESPACE, under
#   /run/cuprum/); `umount $SYSROOT_NAMESPACE` releases it.
# - rootless (any other user): the mount namespace lives inside a user
#   namespace that maps the user to root and the user's subordinate IDs
#   (/etc/subuid, /etc/subgid) to 1..65536, so the sysroot's own users
#   (_apt, www-data, postgres) exist too. An idle holder process keeps both
#   namespaces alive; its PID is in $SYSROOT_NAMESPACE and `kill` on it
#   releases them. Sysroot and output root default to the user's XDG cache.

# chroot lives in /usr/sbin, which an ordinary user's PATH may lack.
case :$PATH: in
  *:/usr/sbin:*) ;;
  *) PATH=$PATH:/usr/sbin:/sbin ;;
esac

if [[ $(id -u) == 0 ]]; then
  ROOTLESS=false
  SYSROOT=${CUPRUM_SYSROOT:-/var/lib/cuprum/sysroot}
  # Bazel's output user root, bind-mounted at the same path inside the
  # sysroot so the bazel-* convenience symlinks resolve on the host too.
  BAZEL_OUTPUT_ROOT=${CUPRUM_BAZEL_OUTPUT_ROOT:-/var/cache/cuprum/bazel}
  SYSROOT_NAMESPACE=/run/cuprum/mnt-$(printf '%s' "$SYSROOT" | sha256sum | cut -c1-12)
else
  ROOTLESS=true
  # XDG: an unset or relative XDG_CACHE_HOME means ~/.cache.
  _xdg_cache=${XDG_CACHE_HOME:-}
  [[ $_xdg_cache == /* ]] || _xdg_cache=$HOME/.cache
  CUPRUM_CACHE_DIR=$_xdg_cache/cuprum
  SYSROOT=${CUPRUM_SYSROOT:-$CUPRUM_CACHE_DIR/sysroot}
  BAZEL_OUTPUT_ROOT=${CUPRUM_BAZEL_OUTPUT_ROOT:-$CUPRUM_CACHE_DIR/bazel}
  SYSROOT_NAMESPACE=$CUPRUM_CACHE_DIR/run/ns-$(printf '%s' "$SYSROOT" | sha256sum | cut -c1-12).pid
fi

# Fixed paths inside the sysroot (the WORKSPACE refers to them).
PYDEPS_DIR=/opt/cuprum/pydeps
LINT_DIR=/opt/cuprum/lint
CRATES_DIR=/opt/cuprum/crates

# The only host variables a command inside the sysroot sees, besides a
# fixed HOME, PATH, LANG, TERM and USER: the stream backend (for `bazel run`
# of an example). tools/bootstrap adds the proxy variables for apt, pip and
# cargo. Nothing else leaks in; Bazel's actions see even less
# (--incompatible_strict_action_env).
SYSROOT_PASS_ENV=(CUPRUM_STREAM_BACKEND)
PROXY_ENV=(http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY)

die() {
  printf 'error: %s\n' "$*" >&2
  exit 2
}

# The mounts every sysroot namespace gets; run by bash inside the new mount
# namespace with the sysroot as $1 and the mode as $2. A user namespace may
# not mount a new proc for the host's PID namespace, so rootless binds the
# host's instead.
_SYSROOT_MOUNTS='
  set -e
  root=$1
  if [[ $2 == root ]]; then
    mount -t proc proc "$root/proc"
  else
    mount --rbind /proc "$root/proc"
  fi
  mount --rbind /sys "$root/sys"
  mkdir -p "$root/dev"
  mount --rbind /dev "$root/dev"
  mkdir -p "$root/dev/shm" && mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
  for file in /etc/resolv.conf /etc/hosts; do
    [[ -e $root$file ]] || touch "$root$file"
    mount --bind "$file" "$root$file"
  done
'

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
  unshare --mount="$SYSROOT_NAMESPACE" --propagation private -- /bin/bash -c "$_SYSROOT_MOUNTS" \
    sysroot-namespace "$SYSROOT" root || die "could not set up the sysroot's mount namespace"
}

# --- rootless ----------------------------------------------------------------

# "start count" of the current user's first subordinate range in FILE
# (/etc/subuid or /etc/subgid) that holds at least 65536 IDs.
_subid_range() {
  [[ -r $1 ]] || return 1
  awk -F: -v name="$(id -un)" -v uid="$(id -u)" \
    '($1 == name || $1 == uid) && $3 >= 65536 { print $2, $3; found = 1; exit } END { exit !found }' "$1"
}

# The unshare(1) arguments that map the user to root and 65536 subordinate
# IDs to 1..65536 (the layout tools/bootstrap builds the sysroot with).
userns_map_args() {
  local uid_start gid_start _
  read -r uid_start _ < <(_subid_range /etc/subuid) || return 1
  read -r gid_start _ < <(_subid_range /etc/subgid) || return 1
  printf '%s\n' --map-root-user "--map-users=$uid_start,1,65536" "--map-groups=$gid_start,1,65536"
}

_sysctl_value() {
  local file=/proc/sys/${1//.//}
  if [[ -r $file ]]; then cat "$file"; else printf 'absent'; fi
}

# Fail, naming what the kernel or the host must allow, unless an ordinary
# user can create the namespaces the rootless mode needs.
rootless_requirements() {
  local out problems=() map
  if ! out=$(unshare --user --map-root-user --mount true 2>&1); then
    problems+=("the kernel refused an unprivileged user namespace (${out:-unshare failed}).
  It must allow them: sysctl user.max_user_namespaces > 0 (now $(_sysctl_value user.max_user_namespaces));
  kernel.unprivileged_userns_clone = 1 where it exists (now $(_sysctl_value kernel.unprivileged_userns_clone));
  kernel.apparmor_restrict_unprivileged_userns = 0 where it exists (now $(_sysctl_value kernel.apparmor_restrict_unprivileged_userns)).
  A container or seccomp profile that blocks unshare(CLONE_NEWUSER) or mount(2) has the same effect.")
  fi
  local tool
  for tool in newuidmap newgidmap; do
    command -v "$tool" >/dev/null ||
      problems+=("$tool is missing: an administrator must install Debian's uidmap package (apt-get install uidmap)")
  done
  local file
  for file in /etc/subuid /etc/subgid; do
    _subid_range "$file" >/dev/null ||
      problems+=("$file gives $(id -un) no range of at least 65536 IDs: an administrator must add one (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un))")
  done
  if ((${#problems[@]} == 0)); then
    mapfile -t map < <(userns_map_args)
    out=$(unshare "${map[@]}" --mount true 2>&1) ||
      problems+=("newuidmap/newgidmap could not map the subordinate IDs: $out")
  fi
  if ((${#problems[@]})); then
    printf 'error: running without root needs user namespaces, and:\n' >&2
    printf -- '- %s\n' "${problems[@]}" >&2
    printf 'Or run the tools as root (sudo).\n' >&2
    exit 2
  fi
}

# The holder's PID when its namespaces hold this sysroot's mounts.
_rootless_holder() {
  local pid
  [[ -f $SYSROOT_NAMESPACE ]] || return 1
  pid=$(<"$SYSROOT_NAMESPACE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  nsenter --target "$pid" --user --mount -- mountpoint -q "$SYSROOT/proc" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

# Start the holder: unshare a user and a mount namespace, mount, report the
# PID through a FIFO, then sleep until killed. setsid detaches it from the
# terminal, so it outlives the command that started it.
_rootless_namespace() {
  _rootless_holder >/dev/null && return 0
  if [[ -f $SYSROOT_NAMESPACE ]]; then
    # A holder of a sysroot that was deleted and built again: release it.
    local old
    old=$(<"$SYSROOT_NAMESPACE")
    if [[ $old =~ ^[0-9]+$ && $(tr '\0' ' ' </proc/"$old"/cmdline 2>/dev/null) == cuprum-sysroot-namespace* ]]; then
      kill "$old" 2>/dev/null || true
    fi
    rm -f "$SYSROOT_NAMESPACE"
  fi
  rootless_requirements
  local map tmp pid=
  mapfile -t map < <(userns_map_args)
  mkdir -p "${SYSROOT_NAMESPACE%/*}"
  tmp=$(mktemp -d "${SYSROOT_NAMESPACE%/*}/holder.XXXXXX")
  mkfifo "$tmp/ready"
  setsid unshare "${map[@]}" --mount --propagation private -- /bin/bash -c "$_SYSROOT_MOUNTS"'
    printf "%s\n" "$$" >&3
    exec 3>&-
    exec -a cuprum-sysroot-namespace sleep infinity
  ' sysroot-namespace "$SYSROOT" rootless 3>"$tmp/ready" </dev/null >/dev/null 2>"$tmp/log" &
  read -r -t 30 pid <"$tmp/ready" || true
  if [[ ! $pid =~ ^[0-9]+$ ]]; then
    printf 'error: could not set up the sysroot'"'"'s user and mount namespaces:\n' >&2
    sed 's/^/  /' "$tmp/log" >&2
    rm -rf "$tmp"
    exit 2
  fi
  rm -rf "$tmp"
  printf '%s\n' "$pid" >"$SYSROOT_NAMESPACE"
}

# Run CMD with the rootless mapping but outside the sysroot (for files the
# sysroot's users own, which the user cannot touch directly).
as_userns_root() {
  local map
  mapfile -t map < <(userns_map_args) || die "no subordinate ID range for $(id -un)"
  unshare "${map[@]}" -- "$@"
}

# --- running commands --------------------------------------------------------

# in_sysroot CMD [ARG...]: run CMD inside the sysroot, with the repository
# ($repo) and the Bazel output root mounted at their host paths and the
# current directory preserved. Returns CMD's exit status. The environment is
# reset; see SYSROOT_PASS_ENV.
in_sysroot() {
  [[ -x $SYSROOT/bin/bash ]] || die "no sysroot at $SYSROOT; run tools/bootstrap first"
  mkdir -p "$BAZEL_OUTPUT_ROOT"
  local enter
  if $ROOTLESS; then
    _rootless_namespace
    enter=(nsenter --target "$(<"$SYSROOT_NAMESPACE")" --user --mount)
  else
    _sysroot_namespace
    enter=(nsenter --mount="$SYSROOT_NAMESPACE")
  fi
  local keep=(HOME=/root "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    LANG=C.UTF-8 "TERM=${TERM:-dumb}" "USER=${USER:-root}")
  local name
  for name in "${SYSROOT_PASS_ENV[@]}"; do
    [[ -n ${!name+set} ]] && keep+=("$name=${!name}")
  done
  REPO=$repo OUT=$BAZEL_OUTPUT_ROOT "${enter[@]}" -- /bin/bash -c '
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
