#!/usr/bin/env bats
# install.bats - make install / uninstall into a temporary DESTDIR, and the
# installed cbctl and shim working together; the man pages lint clean.

load common

@test "man_pages_lint_clean: mandoc -T lint finds nothing" {
	run mandoc -T lint -W warning "$TOP"/man/*.[0-9]
	assert_success
	assert_output ""
}

@test "make_install_lays_out_every_file_and_uninstall_removes_them" {
	d=$BATS_TEST_TMPDIR/root
	run make -C "$TOP" -s install DESTDIR="$d" PREFIX=/opt/cbshim
	assert_success
	for f in bin/cbctl lib/libcbshim.so share/man/man1/cbctl.1 \
		share/man/man5/cb.conf.5 share/man/man7/cbshim.7 \
		etc/cbshim/cb.conf.example share/bash-completion/completions/cbctl; do
		[ -f "$d/opt/cbshim/$f" ] || { echo "missing $f"; false; }
	done
	[ -x "$d/opt/cbshim/bin/cbctl" ]
	run make -C "$TOP" -s uninstall DESTDIR="$d" PREFIX=/opt/cbshim
	assert_success
	run find "$d" -type f
	assert_output ""
}

@test "installed_cbctl_runs_the_installed_shim" {
	d=$BATS_TEST_TMPDIR/root
	make -C "$TOP" -s install DESTDIR="$d" PREFIX=/opt/cbshim
	port=$(free_port)
	# the installed cbctl must preload the installed shim, not the build's
	run "$d/opt/cbshim/bin/cbctl" run -- sh -c 'echo "$LD_PRELOAD"'
	assert_success
	assert_output "$d/opt/cbshim/bin/../lib/libcbshim.so"
	for i in 1 2 3 4 5 6; do
		"$d/opt/cbshim/bin/cbctl" run -- curl -s -o /dev/null "http://127.0.0.1:$port/" || true
	done
	run "$d/opt/cbshim/bin/cbctl" show "127.0.0.1:$port" --json
	assert_success
	assert_output --partial '"state": "open"'
	assert_output --partial '"rejected_calls": 1'
	run "$d/opt/cbshim/bin/cbctl" check-config "$d/opt/cbshim/etc/cbshim/cb.conf.example"
	assert_success
	run mandoc -T utf8 "$d/opt/cbshim/share/man/man1/cbctl.1"
	assert_success
}

# complete WORDS...: what the bash completion offers for the last word.
complete_words() {
	bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_cbctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP/contrib/cbctl.bash-completion" "$@"
}

@test "bash_completion_offers_commands_options_and_destinations" {
	run complete_words "$CBCTL" tr
	assert_output trip
	run complete_words "$CBCTL" trip 127.0.0.1:80 --ho
	assert_output --hold
	run complete_words "$CBCTL" "ev"
	assert_output events
	run complete_words "$CBCTL" "forg"
	assert_output forget
	"$CBCTL" trip 127.0.0.1:4242 >/dev/null
	# bash breaks words at ":", so the reply is what follows the colon
	run complete_words "$CBCTL" reset 127.0.0.1:42
	assert_output 4242
}
