#!/bin/bash
# The Debian package, built and taken apart without installing it (that would change the host):
#   bash test/package/test_deb.sh BUILD_DIR SOURCE_DIR VERSION CPACK
# (ctest passes them: test/CMakeLists.txt). cpack -G DEB writes into a temp dir (-B), so the
# package and CPack's staging tree never land in the build dir; the one file CPack's install
# step writes there anyway (install_manifest.txt) is put back as it was. Then: the control
# fields and Depends, the file list with modes and owners, the files' contents against the
# source tree, the extracted binaries' --version, `systemd-analyze verify` of the unit inside
# the extracted root, the man pages rendered without warnings, the changelog's version, and the
# maintainer scripts parsed and run against stub commands (adduser, systemctl, ...) and a temp
# $DPKG_ROOT. Every check prints what it found; the test fails if any did.
# Temp dirs go on exit, whatever happened (KEEP=1 keeps them for a look).
set -uo pipefail

[ $# -eq 4 ] || { echo "usage: $0 BUILD_DIR SOURCE_DIR VERSION CPACK" >&2; exit 2; }
BUILD=$(cd "$1" && pwd) SRC=$(cd "$2" && pwd) VERSION=$3 CPACK=$4

T=$(mktemp -d /tmp/rawlb-test-deb.XXXXXX)
MANIFEST=$BUILD/install_manifest.txt
MANIFEST_SAVED=$T/install_manifest.txt.saved
MANIFEST_WAS=""                 # "there" (a copy saved) or "absent", once looked at
restore_manifest() {
  case $MANIFEST_WAS in
    there) cp -p "$MANIFEST_SAVED" "$MANIFEST" ;;
    absent) rm -f "$MANIFEST" ;;
  esac
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  restore_manifest
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

FAILED=0
# both return 0, so "CHECK && ok ... || bad ..." reads as if-then-else
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; FAILED=$((FAILED + 1)); return 0; }
# what nothing after it can be checked without
die() { echo "FAIL: $*" >&2; exit 1; }

# ---- the build dir as it was: CPack's install step writes install_manifest.txt into it
if [ -e "$MANIFEST" ]; then
  cp -p "$MANIFEST" "$MANIFEST_SAVED" || die "cannot save $MANIFEST"
  MANIFEST_WAS=there
else
  MANIFEST_WAS=absent
fi

# ---- build the package
listing() { ls -A "$BUILD" | grep -vx install_manifest.txt; }
listing >"$T/build.before"
(cd "$BUILD" && "$CPACK" -G DEB -B "$T/out") >"$T/cpack.log" 2>&1 ||
  { cat "$T/cpack.log" >&2; die "cpack -G DEB failed"; }
restore_manifest
listing >"$T/build.after"
if cmp -s "$T/build.before" "$T/build.after"; then
  ok "cpack left the build dir's top level as it was"
else
  bad "cpack changed the build dir:" \
    "$(diff "$T/build.before" "$T/build.after" | grep '^[<>]' | tr '\n' ' ')"
fi
ARCH=$(dpkg --print-architecture)
DEB=$T/out/rawlb_${VERSION}_${ARCH}.deb
[ -f "$DEB" ] ||
  die "no $(basename "$DEB") from cpack; it made: $(cd "$T/out" && ls -- *.deb 2>/dev/null)"
ok "cpack made $(basename "$DEB") ($(stat -c %s "$DEB") bytes)"

# ---- control fields
field() { dpkg-deb -f "$DEB" "$1"; }
expect_field() {
  local got; got=$(field "$1")
  if [ "$got" = "$2" ]; then ok "$1: $got"; else bad "$1 is '$got', want '$2'"; fi
}
expect_field Package rawlb
expect_field Version "$VERSION"
expect_field Architecture "$ARCH"
expect_field Section net
expect_field Priority optional
MAINTAINER=$(field Maintainer)
if [[ $MAINTAINER =~ ^[^\<]+\ \<[^\>]+@[^\>]+\>$ ]]; then ok "Maintainer: $MAINTAINER"
else bad "Maintainer is '$MAINTAINER', want 'NAME <ADDRESS>'"; fi
# a summary line and a long description under it
DESC_LINES=$(field Description | wc -l)
if [ "$DESC_LINES" -ge 2 ] && [ -n "$(field Description | head -1)" ]; then
  ok "Description: $(field Description | head -1) (+$((DESC_LINES - 1)) lines)"
else
  bad "Description wants a summary and a long text, has $DESC_LINES line(s): $(field Description)"
fi
# dpkg-shlibdeps' libraries (the daemon's and the tools') and the maintainer scripts' adduser
DEPENDS=$(field Depends)
DEP_NAMES=" $(echo "$DEPENDS" | tr ',' '\n' | sed 's/(.*)//; s/^ *//; s/ *$//' | tr '\n' ' ')"
for pkg in libc6 libpcap0.8 libev4 libnet1 libmicrohttpd12 libseccomp2 libsodium23 adduser; do
  if [[ $DEP_NAMES == *" $pkg "* ]]; then ok "Depends names $pkg"
  else bad "Depends does not name $pkg: '$DEPENDS'"; fi
done

expect_field Suggests exabgp

# ---- control archive: conffiles and maintainer scripts
dpkg-deb -e "$DEB" "$T/control" || die "dpkg-deb -e failed"
CONFFILES=$(cat "$T/control/conffiles" 2>/dev/null)
if [ "$CONFFILES" = /etc/default/rawlb ]; then ok "conffiles: $CONFFILES"
else bad "conffiles is '$CONFFILES', want '/etc/default/rawlb'"; fi
for s in postinst prerm postrm; do
  f=$T/control/$s
  if [ ! -f "$f" ]; then bad "no $s in the package"; continue; fi
  mode=$(stat -c %a "$f")
  [ "$mode" = 755 ] && ok "$s is 0755" || bad "$s has mode $mode, want 755"
  head -1 "$f" | grep -qx '#!/bin/sh' && ok "$s runs under /bin/sh" ||
    bad "$s starts '$(head -1 "$f")'"
  err=$(sh -n "$f" 2>&1) && ok "$s passes sh -n" || bad "$s does not parse: $err"
  cmp -s "$f" "$SRC/packaging/$s" && ok "$s is packaging/$s" || bad "$s differs from packaging/$s"
done

# ---- file list: each packaged file with its mode and root:root, and nothing else but directories
declare -A WANT=(
  [/usr/sbin/rawlb]=-rwxr-xr-x [/usr/sbin/rawlb-ctl]=-rwxr-xr-x [/usr/sbin/rawlb-announce]=-rwxr-xr-x
  [/usr/bin/rawlb-replay]=-rwxr-xr-x
  [/lib/systemd/system/rawlb.service]=-rw-r--r-- [/etc/default/rawlb]=-rw-r--r--
  [/usr/share/man/man8/rawlb.8.gz]=-rw-r--r-- [/usr/share/man/man8/rawlb-ctl.8.gz]=-rw-r--r--
  [/usr/share/man/man8/rawlb-announce.8.gz]=-rw-r--r--
  [/usr/share/man/man1/rawlb-replay.1.gz]=-rw-r--r--
  [/usr/share/doc/rawlb/copyright]=-rw-r--r-- [/usr/share/doc/rawlb/changelog.gz]=-rw-r--r--
)
dpkg-deb -c "$DEB" >"$T/contents" || die "dpkg-deb -c failed"
declare -A SEEN=()
while read -r perms owner _size _date _time path _rest; do
  path=${path#.}
  case $perms in
    d*)
      [ "$owner" = root/root ] || bad "directory $path is owned by $owner"
      continue ;;
  esac
  if [ -z "${WANT[$path]+set}" ]; then
    bad "unexpected file in the package: $perms $owner $path"
    continue
  fi
  SEEN[$path]=1
  if [ "$perms $owner" = "${WANT[$path]} root/root" ]; then ok "$path $perms $owner"
  else bad "$path is $perms $owner, want ${WANT[$path]} root/root"; fi
done <"$T/contents"
for path in "${!WANT[@]}"; do
  [ -n "${SEEN[$path]+set}" ] || bad "$path is not in the package"
done

# ---- the extracted tree
R=$T/root
dpkg -x "$DEB" "$R" || die "dpkg -x failed"
for path in "${!WANT[@]}"; do
  [ -e "$R$path" ] || continue            # said above
  want=755; [ "${WANT[$path]}" = -rw-r--r-- ] && want=644
  got=$(stat -c '%a %U:%G' "$R$path")
  [ "$got" = "$want root:root" ] || bad "extracted $path is $got, want $want root:root"
done
same() {  # same PACKAGED SOURCE: the package ships the tree's file as it is
  if [ ! -f "$R$1" ]; then return; fi
  cmp -s "$R$1" "$SRC/$2" && ok "$1 is $2" || bad "$1 differs from $2"
}
same /lib/systemd/system/rawlb.service packaging/rawlb.service
same /etc/default/rawlb packaging/rawlb.default
same /usr/share/doc/rawlb/copyright packaging/copyright

# binaries: the project's version, and stripped (debug information stays in the build tree)
for b in /usr/sbin/rawlb /usr/sbin/rawlb-ctl /usr/sbin/rawlb-announce /usr/bin/rawlb-replay; do
  [ -x "$R$b" ] || continue
  name=$(basename "$b")
  got=$("$R$b" --version 2>&1); rc=$?
  if [ $rc -eq 0 ] && [ "$got" = "$name $VERSION" ]; then ok "$name --version: $got"
  else bad "$name --version printed '$got' (exit $rc), want '$name $VERSION' (exit 0)"; fi
  if readelf -S "$R$b" | grep -q '\.debug_info'; then bad "$b is not stripped"
  else ok "$b is stripped"; fi
done

# gzip -9n: no name and no time stamp in the header (flags byte without FNAME, MTIME zero), so
# the same source gives the same bytes
GZ_FNAME=8                                  # RFC 1952 FLG.FNAME
check_gzip() {
  local f=$R$1 hdr
  [ -f "$f" ] || return 1
  if ! gzip -t "$f" 2>"$T/gzip.err"; then
    bad "$1 is no valid gzip: $(cat "$T/gzip.err")"
    return 1
  fi
  read -ra hdr < <(od -An -tu1 -N8 "$f")
  if (( (hdr[3] & GZ_FNAME) == 0 && hdr[4] + hdr[5] + hdr[6] + hdr[7] == 0 )); then
    ok "$1 is gzipped without name and time stamp"
  else
    bad "$1's gzip header carries a name or a time stamp" \
      "(flags ${hdr[3]}, mtime bytes ${hdr[*]:4:4})"
  fi
}

# ---- the changelog: Debian's format, its top entry this version
if check_gzip /usr/share/doc/rawlb/changelog.gz; then
  zcat "$R/usr/share/doc/rawlb/changelog.gz" >"$T/changelog"
  cmp -s "$T/changelog" "$SRC/packaging/changelog" || bad "changelog.gz is not packaging/changelog"
  got=$(dpkg-parsechangelog -l "$T/changelog" -S Version 2>&1)
  [ "$got" = "$VERSION" ] && ok "changelog's top entry: $got" ||
    bad "changelog's top entry is '$got', want $VERSION"
fi

# ---- the copyright: machine-readable, GPL-2.0-or-later, pointing at the system's GPL-2
C=$R/usr/share/doc/rawlb/copyright
if [ -f "$C" ]; then
  DEP5_FORMAT='Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/'
  head -1 "$C" | grep -qxF "$DEP5_FORMAT" &&
    ok "copyright is machine-readable (DEP-5)" || bad "copyright starts '$(head -1 "$C")'"
  grep -qx 'License: GPL-2.0-or-later' "$C" && ok "copyright: License: GPL-2.0-or-later" ||
    bad "copyright has no 'License: GPL-2.0-or-later' line"
  grep -q '/usr/share/common-licenses/GPL-2' "$C" &&
    ok "copyright points at common-licenses/GPL-2" ||
    bad "copyright does not point at /usr/share/common-licenses/GPL-2"
fi

# ---- man pages: the tree's pages, rendered without a warning
MAN_PAGES="/usr/share/man/man8/rawlb.8.gz /usr/share/man/man8/rawlb-ctl.8.gz
           /usr/share/man/man8/rawlb-announce.8.gz /usr/share/man/man1/rawlb-replay.1.gz"
for m in $MAN_PAGES; do
  check_gzip "$m" || continue
  page=$(basename "$m" .gz)
  zcat "$R$m" >"$T/$page"
  cmp -s "$T/$page" "$SRC/docs/man/$page" || bad "$m is not docs/man/$page"
  if command -v groff >/dev/null; then
    err=$(groff -man -Tutf8 -ww -z "$T/$page" 2>&1); rc=$?
    [ $rc -eq 0 ] && [ -z "$err" ] && ok "groff renders $page without warnings" ||
      bad "groff on $page (exit $rc): $err"
  fi
  if command -v man >/dev/null; then
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$R$m" 2>"$T/man.err"); rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$T/man.err" ] && [ -n "$out" ]; then ok "man -l renders $page"
    else bad "man -l $page (exit $rc, $(echo "$out" | wc -l) lines): $(cat "$T/man.err")"; fi
  fi
done

# ---- the unit, verified inside the extracted root. --root resolves ExecStart and friends there,
# and every unit it pulls in (sysinit.target, network-online.target, ...) too, so the host's
# units are copied beside the package's (without overwriting them). Documentation=man: is looked
# up by man(1), which finds the package's pages through MANPATH.
if command -v systemd-analyze >/dev/null; then
  V=$T/verify-root
  cp -a "$R" "$V" && cp -an /lib/systemd/system/. "$V/lib/systemd/system/" ||
    die "could not set up the root for systemd-analyze verify"
  out=$(MANPATH=$R/usr/share/man \
        systemd-analyze verify --root="$V" /lib/systemd/system/rawlb.service 2>&1); rc=$?
  [ $rc -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify rawlb.service: clean" ||
    bad "systemd-analyze verify rawlb.service (exit $rc): $out"
else
  bad "no systemd-analyze (package systemd, tools/deps.sh)"
fi

# ---- maintainer scripts, run for real against stub commands: each stub logs how it was called.
# getent answers from $STUB_USERS (the users and groups that "exist"). $DPKG_ROOT is a temp dir:
# the scripts' paths (the state dir, the enablement link, /run/systemd/system that says systemd
# runs the system) are under it, so each script runs with and without a "running systemd".
STUBS=$T/stubs DR=$T/dpkgroot
mkdir -p "$STUBS" "$DR"
for cmd in adduser deluser delgroup systemctl deb-systemd-invoke; do
  printf '#!/bin/sh\necho "%s $*" >>"$STUB_LOG"\n' "$cmd" >"$STUBS/$cmd"
done
cat >"$STUBS/getent" <<'EOF'
#!/bin/sh
# getent DATABASE NAME: found when "DATABASE:NAME" is in $STUB_USERS
case " $STUB_USERS " in
  *" $1:$2 "*) echo "$2:x:999:999::/nonexistent:/usr/sbin/nologin" ;;
  *) exit 2 ;;
esac
EOF
chmod 755 "$STUBS"/*
systemd_running() { mkdir -p "$DR/run/systemd/system"; }
systemd_stopped() { rm -rf "$DR/run"; }
run_script() {  # run_script SCRIPT ARG USERS: the stub log of one run
  : >"$T/stub.log"
  STUB_LOG=$T/stub.log STUB_USERS=$3 DPKG_ROOT=$DR PATH="$STUBS:$PATH" \
    sh "$T/control/$1" "$2" >"$T/script.out" 2>&1 || bad "$1 $2 failed: $(cat "$T/script.out")"
  cat "$T/stub.log"
}
expect_log() {  # expect_log WHAT LOG WANT: the stubs were called exactly as WANT says
  if [ "$2" = "$3" ]; then ok "$1: $(echo "${3:-nothing called}" | paste -sd';')"
  else bad "$1: called '$(echo "$2" | paste -sd';')', want '$(echo "$3" | paste -sd';')'"; fi
}
ADDUSER="adduser --system --group --no-create-home --home /nonexistent --quiet rawlb"
RELOAD="systemctl --system daemon-reload"
BOTH="passwd:rawlb group:rawlb"
if [ -f "$T/control/postinst" ]; then
  systemd_running
  expect_log "postinst configure, no user, systemd" "$(run_script postinst configure "")" \
    "$ADDUSER"$'\n'"$RELOAD"
  expect_log "postinst configure, user there, systemd" "$(run_script postinst configure "$BOTH")" \
    "$RELOAD"
  systemd_stopped
  expect_log "postinst configure, no user, no systemd" "$(run_script postinst configure "")" \
    "$ADDUSER"
  expect_log "postinst configure, only the group" "$(run_script postinst configure group:rawlb)" \
    "adduser --system --ingroup rawlb --no-create-home --home /nonexistent --quiet rawlb"
fi
if [ -f "$T/control/prerm" ]; then
  systemd_running
  expect_log "prerm upgrade" "$(run_script prerm upgrade "$BOTH")" ""
  expect_log "prerm remove, systemd" "$(run_script prerm remove "$BOTH")" \
    "deb-systemd-invoke stop rawlb.service"
  systemd_stopped
  expect_log "prerm remove, no systemd" "$(run_script prerm remove "$BOTH")" ""
fi
if [ -f "$T/control/postrm" ]; then
  STATE=$DR/var/lib/rawlb WANTS=$DR/etc/systemd/system/multi-user.target.wants
  mkdir -p "$STATE" "$WANTS" && touch "$STATE/conntable" &&
    ln -s /lib/systemd/system/rawlb.service "$WANTS/" || die "cannot set up \$DPKG_ROOT for postrm"
  systemd_running
  expect_log "postrm remove" "$(run_script postrm remove "$BOTH")" "$RELOAD"
  [ -e "$STATE/conntable" ] && ok "postrm remove keeps the state" ||
    bad "postrm remove deleted the state"
  [ -L "$WANTS/rawlb.service" ] && ok "postrm remove keeps the enablement link" ||
    bad "postrm remove deleted the enablement link"
  # the stub's group outlives deluser, so delgroup is asked too (it removes only an empty group)
  PURGE_CALLS=$(printf '%s\n' "deluser --system --quiet rawlb" \
                 "delgroup --system --only-if-empty --quiet rawlb" "$RELOAD")
  expect_log "postrm purge, systemd" "$(run_script postrm purge "$BOTH")" "$PURGE_CALLS"
  [ ! -e "$STATE" ] && ok "postrm purge removes \$DPKG_ROOT/var/lib/rawlb" ||
    bad "postrm purge left $STATE"
  [ ! -L "$WANTS/rawlb.service" ] && ok "postrm purge removes the enablement link" ||
    bad "postrm purge left $WANTS/rawlb.service"
  systemd_stopped
  expect_log "postrm purge, no user, no systemd" "$(run_script postrm purge "")" ""
fi

if [ $FAILED -gt 0 ]; then echo "$FAILED check(s) failed" >&2; exit 1; fi
echo "all checks passed"
