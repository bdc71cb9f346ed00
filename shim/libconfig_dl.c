/*
 * libconfig_dl.c - libconfig loaded on first use (see libconfig_dl.h).
 *
 * The definitions below have the names and prototypes of libconfig.h, so
 * config.c links against them unchanged; -fvisibility=hidden keeps them
 * inside libcbshim.so (a program's own libconfig is never shadowed).
 * Until cb_libconfig_load() succeeded they must not be called.
 */
#include "libconfig_dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <libconfig.h>
#include <stdatomic.h>
#include <stdio.h>

static struct {
	void (*init)(config_t *);
	void (*destroy)(config_t *);
	int (*read_string)(config_t *, const char *);
	config_setting_t *(*get_elem)(const config_setting_t *, unsigned int);
	config_setting_t *(*get_member)(const config_setting_t *,
					const char *);
	double (*get_float)(const config_setting_t *);
	long long (*get_int64)(const config_setting_t *);
	const char *(*get_string)(const config_setting_t *);
	int (*length)(const config_setting_t *);
} lc;

/* release/acquire: whoever sees loaded sees the pointers */
static _Atomic int loaded;

int
cb_libconfig_load(char *why, size_t len)
{
	void *h;

	if (atomic_load_explicit(&loaded, memory_order_acquire))
		return 0;
	h = dlopen(CB_LIBCONFIG_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, len, "%s", dlerror());
		return -ENOENT;
	}
#define SYM(f, name)							\
	if (!(*(void **)&lc.f = dlsym(h, name))) {			\
		snprintf(why, len, "no symbol %s in it", name);		\
		dlclose(h);						\
		return -ENOENT;						\
	}
	SYM(init, "config_init");
	SYM(destroy, "config_destroy");
	SYM(read_string, "config_read_string");
	SYM(get_elem, "config_setting_get_elem");
	SYM(get_member, "config_setting_get_member");
	SYM(get_float, "config_setting_get_float");
	SYM(get_int64, "config_setting_get_int64");
	SYM(get_string, "config_setting_get_string");
	SYM(length, "config_setting_length");
#undef SYM
	atomic_store_explicit(&loaded, 1, memory_order_release);
	return 0;
}

void
config_init(config_t *c)
{
	lc.init(c);
}

void
config_destroy(config_t *c)
{
	lc.destroy(c);
}

int
config_read_string(config_t *c, const char *str)
{
	return lc.read_string(c, str);
}

config_setting_t *
config_setting_get_elem(const config_setting_t *s, unsigned int i)
{
	return lc.get_elem(s, i);
}

config_setting_t *
config_setting_get_member(const config_setting_t *s, const char *name)
{
	return lc.get_member(s, name);
}

double
config_setting_get_float(const config_setting_t *s)
{
	return lc.get_float(s);
}

long long
config_setting_get_int64(const config_setting_t *s)
{
	return lc.get_int64(s);
}

const char *
config_setting_get_string(const config_setting_t *s)
{
	return lc.get_string(s);
}

int
config_setting_length(const config_setting_t *s)
{
	return lc.length(s);
}
