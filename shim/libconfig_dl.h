/*
 * libconfig_dl.h - libconfig loaded on first use, in libcbshim.so only.
 *
 * The shim is loaded into every process that inherits LD_PRELOAD, and most
 * never connect: linking libconfig (a DT_NEEDED) would make each of them
 * find, map and relocate it at start.  libcbshim.so is linked without
 * -lconfig; libconfig_dl.c defines, hidden, the few libconfig functions
 * config.c calls, each a jump through a pointer that cb_libconfig_load()
 * fills from dlopen().  cbctl and the unit tests link -lconfig instead and
 * never see this file.
 */
#ifndef CB_LIBCONFIG_DL_H
#define CB_LIBCONFIG_DL_H

#include <stddef.h>

/* The soname of libconfig 1.5-1.7 (Debian: libconfig9). */
#define CB_LIBCONFIG_SONAME "libconfig.so.9"

/* cb_libconfig_load - dlopen libconfig and resolve what config.c calls.
 * 0, or -ENOENT with the reason in why (len bytes).  Call before any
 * cb_config_* function that parses; again after success is a no-op.
 * Not async-signal-safe (dlopen): the shim calls it from its init only. */
int cb_libconfig_load(char *why, size_t len);

#endif
