#!/bin/bash
# deps.sh - the Debian packages cbshim needs to build, test, demo and bench.
#   deps.sh list      print them
#   deps.sh install   apt-get install them all
#   deps.sh ensure    install only if some are missing (make check / demo)
# Needs only what a bare Debian 12 has (bash, apt, dpkg, awk); installing
# needs root.  Progress is one line per tenth downloaded and per package
# installed; then apt's warnings, or, if it failed, what apt and the
# packages' scripts said (without debconf's and invoke-rc.d's chatter).
set -eu -o pipefail
PKGS="gcc make libc6-dev libconfig-dev libcmocka-dev pkg-config
bats bats-support bats-assert
curl netcat-openbsd python3 python3-prometheus-client nodejs
nginx-light haproxy hyperfine valgrind strace iproute2 procps psmisc
mandoc bash-completion util-linux clang libclang-rt-14-dev
libmicrohttpd-dev prometheus systemd debhelper dpkg-dev fakeroot lintian
faketime libfaketime
binutils build-essential wrk redis-tools"

missing() {
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || printf '%s ' "$p"
	done
}

# progress: apt's stdout and status lines (APT::Status-Fd) in, one
# readable line per step out.
progress() {
	awk -F: '
	/^dlstatus:/ { p = int($3 / 10) * 10
		if (p > dl) { dl = p; printf "deps: downloading %3d%%\n", p; fflush() }
		next }
	/^pmstatus:/ { # pmstatus:PKG[:ARCH]:PERCENT:MESSAGE
		if (match($0, /:[0-9.]+:Installed /)) {
			pct = substr($0, RSTART + 1); sub(/:.*/, "", pct)
			msg = substr($0, RSTART + RLENGTH); sub(/ \(.*/, "", msg)
			printf "deps: [%3d%%] installed %s\n", pct, msg; fflush() }
		next }
	/^[0-9]+ upgraded, |^Need to get |^Fetched / { print "deps: " $0; fflush() }
	' dl=0
}

install_pkgs() {
	local err rc=0
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: need root to install: $*" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	echo "deps: apt-get update"
	apt-get update -qq
	err=$(mktemp)
	apt-get install -y -q --no-install-recommends -o APT::Status-Fd=3 \
		-o Dpkg::Use-Pty=0 "$@" 3>&1 2>"$err" | progress || rc=$?
	# what the packages' scripts said: apt's warnings if it worked, all
	# of it if it did not
	if [ "$rc" -eq 0 ]; then
		grep '^W: ' "$err" >&2 || true
	else
		grep -v -e '^debconf: ' -e '^invoke-rc.d: ' "$err" >&2 || true
	fi
	rm -f "$err"
	return "$rc"
}

case "${1:-ensure}" in
list) echo $PKGS ;;
install) install_pkgs $PKGS ;;
ensure)
	m=$(missing)
	if [ -n "$m" ]; then
		echo "deps: installing missing packages: $m"
		install_pkgs $m
	fi ;;
*) echo "usage: deps.sh list|install|ensure" >&2; exit 2 ;;
esac
