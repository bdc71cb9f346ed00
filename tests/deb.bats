#!/usr/bin/env bats
# deb.bats - "make deb" once (about 10 s), then the package inspected with
# dpkg-deb and lintian, and its cbctl and library run from the extracted
# tree.  Nothing is installed on this machine.

load common

setup_file() {
	export DEB_B=$BATS_FILE_TMPDIR/b
	make -C "$TOP" -s deb B="$DEB_B" >"$BATS_FILE_TMPDIR/deb.log" 2>&1
	echo $? >"$BATS_FILE_TMPDIR/deb.status"
	DEB=$(ls "$DEB_B"/deb/cbshim_*_*.deb 2>/dev/null | head -1)
	export DEB
	if [ -n "$DEB" ]; then
		dpkg-deb -x "$DEB" "$BATS_FILE_TMPDIR/root"
	fi
}

# the library's directory as debian/rules sets it
libdir() {
	echo "usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/cbshim"
}

@test "make_deb_builds_and_leaves_nothing_beside_the_tree" {
	[ "$(cat "$BATS_FILE_TMPDIR/deb.status")" = 0 ] ||
		{ cat "$BATS_FILE_TMPDIR/deb.log"; false; }
	[ -f "$DEB" ]
	run ls "$DEB_B/deb"
	assert_output --partial .changes
	assert_output --partial .buildinfo
	run sh -c "ls '$TOP'/../cbshim_* '$TOP'/../cbshim-dbgsym_* 2>/dev/null"
	assert_output ""
	# the developer's build tree is not the package's
	run sh -c "strings '$TOP/build/cbctl' | grep -c '^/usr/lib/.*/cbshim$'"
	assert_output 0
}

@test "lintian_reports_no_errors_and_no_warnings" {
	[ -f "$DEB" ]
	run lintian --fail-on error,warning "$DEB_B"/deb/*.changes
	assert_success
	refute_line --regexp '^[EW]: '
}

@test "deb_ships_cbctl_the_library_man_pages_completion_and_unit" {
	[ -f "$DEB" ]
	run dpkg-deb -c "$DEB"
	for f in ./usr/bin/cbctl "./$(libdir)/libcbshim.so" \
		./usr/share/man/man1/cbctl.1.gz ./usr/share/man/man5/cb.conf.5.gz \
		./usr/share/man/man7/cbshim.7.gz \
		./usr/share/bash-completion/completions/cbctl \
		./etc/cbshim/cb.conf ./lib/systemd/system/cbshim-exporter.service \
		./usr/share/doc/cbshim/examples/cbshim-alerts.yml \
		./usr/share/doc/cbshim/examples/cbshim-dashboard.json \
		./usr/share/doc/cbshim/examples/cb.conf.example; do
		grep -q " $f\$" <<<"$output" || { echo "missing $f"; false; }
	done
	run dpkg-deb -f "$DEB" Version Depends
	assert_line "Version: $(sed -n 's/^VERSION := //p' "$TOP/Makefile")"
	assert_output --partial libconfig9
	assert_output --partial libmicrohttpd12
}

@test "cb_conf_is_a_conffile_valid_and_without_active_rules" {
	[ -f "$DEB" ]
	run sh -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xOf - ./conffiles"
	assert_output /etc/cbshim/cb.conf
	conf=$BATS_FILE_TMPDIR/root/etc/cbshim/cb.conf
	run "$CBCTL" check-config "$conf"
	assert_success
	run grep -E '^[^#]*match *=' "$conf"
	assert_failure
	# the example's rules are there, commented out
	run grep -c '^# *{ match =' "$conf"
	[ "$output" -ge 3 ]
	# and it is the example otherwise
	run diff <(grep -v '^#' "$conf") <(sed '/^rules = (/,/^);/d' "$TOP/cb.conf.example" | grep -v '^#')
	assert_success
}

@test "packaged_cbctl_looks_for_the_library_where_the_package_puts_it" {
	[ -f "$DEB" ]
	r=$BATS_FILE_TMPDIR/root
	[ -f "$r/$(libdir)/libcbshim.so" ]
	run "$r/usr/bin/cbctl" --version
	assert_success
	# extracted here, not installed: cbctl names the directory it expects
	run "$r/usr/bin/cbctl" run -- true
	assert_failure 1
	assert_output --partial "nor in /$(libdir)"
}

@test "packaged_library_and_cbctl_work_together" {
	[ -f "$DEB" ]
	r=$BATS_FILE_TMPDIR/root
	port=$(free_port)
	for i in 1 2 3 4 5 6 7; do
		LD_PRELOAD="$r/$(libdir)/libcbshim.so" curl -s -o /dev/null \
			"http://127.0.0.1:$port/" || true
	done
	run "$r/usr/bin/cbctl" show "127.0.0.1:$port" --json
	assert_success
	assert_output --partial '"state": "open"'
	assert_output --partial '"rejected_calls": 2'
}
