/*
 * fuzz_config.c - libFuzzer target: the whole loader (text checks, libconfig,
 * the strict walk) on arbitrary bytes, then the matcher on the result.
 *
 * The input goes to a memfd and is loaded through /proc/self/fd/N, the
 * same path a real file takes.  Besides crashes, leaks and undefined
 * behaviour, it checks the loader's promises: an error is one line that
 * starts with the file name and leaves no config; a loaded config gives
 * every destination a policy cb_policy_valid() accepts, and segment
 * settings within their limits.  It also feeds a prefix of the input to
 * cb_parse_duration() and the errno table.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shim/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];

static void
put(const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t n;

	if (memfd < 0) {
		memfd = memfd_create("cbconf", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0)
		abort();
	while (off < size) {
		n = pwrite(memfd, data + off, size - off, (off_t)off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
}

/* Destinations: fixed ones plus one made of the input's last bytes. */
static void
check_policies(const struct cb_config *c, const uint8_t *data, size_t size)
{
	static const struct cb_dest fixed[] = {
		{ AF_INET, 80, { 10, 1, 2, 3 }, 0 },
		{ AF_INET, 5432, { 10, 1, 0, 0 }, 0 },
		{ AF_INET, 53, { 8, 8, 8, 8 }, 0 },
		{ AF_INET, 0, { 0 }, 0 },
		{ AF_INET, 65535, { 255, 255, 255, 255 }, 0 },
		{ AF_INET6, 443, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, 0 },
		{ AF_INET6, 1, { [15] = 1 }, 0 },
		{ AF_INET6, 8080, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				    0xff, 0xff }, 0 },
	};
	struct cb_dest d;
	struct cb_policy p;
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		cb_config_policy(c, &fixed[i], &p);
		if (cb_policy_valid(&p) != 0)
			abort();
	}
	if (size >= 19) {
		memset(&d, 0, sizeof(d));
		d.family = data[size - 19] & 1 ? AF_INET6 : AF_INET;
		d.port = (uint16_t)(data[size - 18] << 8 | data[size - 17]);
		memcpy(d.addr, data + size - 16, 16);
		cb_config_policy(c, &d, &p);
		if (cb_policy_valid(&p) != 0)
			abort();
	}
}

static void
check_settings(const struct cb_config *c)
{
	const char *n = cb_config_shm_name(c);
	unsigned m = cb_config_shm_mode(c);
	uint32_t cap = cb_config_max_breakers(c);
	int lvl = cb_config_log_level(c);

	if (n && (n[0] != '/' || strlen(n) < 2 || strchr(n + 1, '/')))
		abort();
	if (m > 0777 || (m & 0002) || (m & 0600) != 0600)
		abort();
	if (cap < 1 || cap > CB_MAX_CAPACITY)
		abort();
	if (lvl < CB_LOG_ERROR || lvl > CB_LOG_DEBUG)
		abort();
}

static void
check_helpers(const uint8_t *data, size_t size)
{
	char s[48];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	uint64_t ms;
	const char *name;
	int e;

	memcpy(s, data, n);
	s[n] = '\0';
	if (cb_parse_duration(s, &ms) == 0 && (s[0] < '0' || s[0] > '9'))
		abort();
	e = cb_errno_by_name(s);
	if (e != -1) {
		if (e < 1 || e >= CB_ERRNO_MAX)
			abort();
		name = cb_errno_name(e);
		if (name == NULL || cb_errno_by_name(name) != e)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cb_config *c = NULL;
	char err[1024];
	size_t plen;
	int r;

	put(data, size);
	memset(err, 'X', sizeof(err));
	r = cb_config_load(&c, path, err, sizeof(err));
	if (r == 0) {
		if (c == NULL)
			abort();
		check_settings(c);
		check_policies(c, data, size);
	} else {
		plen = strlen(path);
		if (c != NULL || memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, path, plen) != 0 || err[plen] != ':' ||
		    strchr(err, '\n') != NULL)
			abort();
		if (r != -EINVAL && r != -EFBIG)
			abort();
	}
	cb_config_free(c);
	check_helpers(data, size);
	return 0;
}
