#!/bin/sh
# deps.sh - the Debian packages cbshim needs to build, test, demo and bench.
#   deps.sh list      print them
#   deps.sh install   apt-get install them all
#   deps.sh ensure    install only if some are missing (make check / demo)
set -eu
PKGS="gcc make libc6-dev libconfig-dev libcmocka-dev pkg-config
bats bats-support bats-assert
curl netcat-openbsd python3 python3-prometheus-client nodejs
nginx-light haproxy hyperfine valgrind strace iproute2 procps psmisc
mandoc bash-completion util-linux clang libclang-rt-14-dev
libmicrohttpd-dev prometheus systemd debhelper dpkg-dev fakeroot lintian
binutils"

missing() {
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || printf '%s ' "$p"
	done
}

install_pkgs() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: need root to install: $*" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null
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
