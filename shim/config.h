/*
 * config.h - cb.conf (libconfig) -> segment settings, log settings, the
 * default policy and the rules that give each destination its policy.
 *
 * Parsing allocates and reads files, so it happens once per process, off
 * the connect path; matching (cb_config_policy) is called only when a
 * destination's breaker is created (and by cbctl reload).
 */
#ifndef CB_CONFIG_H
#define CB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "breaker.h"
#include "table.h"
#include "text.h"			/* cb_parse_duration */

#define CB_CONFIG_DEFAULT_PATH "/etc/cbshim/cb.conf"

enum cb_log_level { CB_LOG_ERROR = 0, CB_LOG_WARN, CB_LOG_INFO, CB_LOG_DEBUG };

struct cb_config;			/* opaque */

/* cb_config_path - the file to read: $CBSHIM_CONFIG if set and non-empty,
 * else CB_CONFIG_DEFAULT_PATH if it exists, else NULL (built-in defaults).
 * Returns a pointer to static or environment storage. */
const char *cb_config_path(void);

/* cb_config_load - parse path (NULL: built-in defaults only).  Returns 0
 * and *cp, or -EINVAL (bad file: err gets "FILE:LINE: message" for
 * syntax/semantic errors), -ENOENT/-EACCES/... (cannot read: err gets
 * "FILE: reason"), -ENOMEM.  Strict: unknown keys, wrong types, out of
 * range values, unknown errno names, bad CIDRs or ports are errors.
 * Not async-signal-safe (allocates); thread-safe (no globals). */
int cb_config_load(struct cb_config **cp, const char *path, char *err,
		   size_t errlen);

/* cb_config_free - release c (NULL is fine). */
void cb_config_free(struct cb_config *c);

/* cb_config_policy - the policy for destination d: the first matching
 * rule's fields over the defaults.  Pure lookup, no allocation. */
void cb_config_policy(const struct cb_config *c, const struct cb_dest *d,
		      struct cb_policy *p);

/* cb_config_policy_named - cb_config_policy for a destination the process
 * reached through host name name (normalised as cb_name_normal does; NULL
 * when unknown): name rules ("db.internal:5432", "*.svc.local:*") fit it
 * too, in file order with the address rules.  Pure, no allocation. */
void cb_config_policy_named(const struct cb_config *c,
			    const struct cb_dest *d, const char *name,
			    struct cb_policy *p);

/* Segment and logging settings: shm.name (NULL when not set: the caller
 * uses $CBSHIM_SHM or the default name), shm.mode (default 0600),
 * shm.owner (a uid, -1 when not set), shm.max_breakers (default 4096),
 * shm.reclaim_after (ms, default 10 min: CB_DEFAULT_RECLAIM_AFTER_MS),
 * log.level, log.target. */
const char *cb_config_shm_name(const struct cb_config *c);
unsigned cb_config_shm_mode(const struct cb_config *c);
long cb_config_shm_owner(const struct cb_config *c);
uint32_t cb_config_max_breakers(const struct cb_config *c);
uint32_t cb_config_reclaim_after(const struct cb_config *c);	/* ms */
int cb_config_log_level(const struct cb_config *c);
int cb_config_log_syslog(const struct cb_config *c);

/* cb_errno_by_name / cb_errno_name - "ECONNREFUSED" <-> 111, by glibc's
 * strerrorname_np plus the aliases EWOULDBLOCK, EDEADLOCK and ENOTSUP
 * (names of errnos below CB_ERRNO_MAX; numbers below 4096).  -1 / NULL
 * when unknown.  Pure, no allocation. */
int cb_errno_by_name(const char *name);
const char *cb_errno_name(int e);

#endif
