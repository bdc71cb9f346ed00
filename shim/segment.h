/*
 * segment.h - the layout of the shared segment, written once for table.c
 * and for the tests and fuzzers that damage segments on purpose.
 *
 * A segment is, each part aligned to 64 bytes:
 *
 *   struct cb_shm_header
 *   CB_EVENTS ring entries (struct cb_ring_entry)
 *   the decision lines: slots x struct cb_hot, 64 bytes each, dense (a
 *       decision reads one of them and nothing else of the segment)
 *   the cold parts: slots x struct cb_slot_cold (the breaker's cold words
 *       and the table's claim and reclaim words), five lines each
 *   the names: slots x struct cb_name_entry
 *
 * Slot i's three parts are entry i of each array.  slots is a power of two
 * at least twice max_breakers, and below 2^21 (an fd entry and an event
 * keep a slot index in 21 bits).
 */
#ifndef CB_SEGMENT_H
#define CB_SEGMENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker.h"

#define CB_SHM_MAGIC 0x31304d4853424343ull	/* "CCBSHM01" little-endian */
#define CB_LAYOUT_VERSION 6u
#define CB_EVENTS 1024u
#define CB_MAX_CAPACITY (1u << 20)
#define CB_NAME_MAX 253u		/* longest host name kept, no final dot */
#define CB_SLOT_BITS 21			/* a slot index fits 21 bits */
#define CB_NAME_WORDS ((CB_NAME_MAX + 1 + 7) / 8)

struct cb_shm_header {
	_Atomic uint64_t magic;		/* written last, by the creator */
	uint32_t version;		/* CB_LAYOUT_VERSION */
	uint32_t header_size;		/* bytes before the ring */
	uint32_t event_size, events;	/* ring geometry */
	uint32_t hot_size, slots;	/* decision lines: size, count */
	uint32_t capacity;		/* max_breakers */
	uint32_t cold_size;		/* sizeof(struct cb_slot_cold) */
	uint64_t total_size;		/* bytes of the whole segment */
	uint64_t ring_off, hot_off;
	uint64_t created_ms;
	_Atomic uint64_t unprotected;	/* attempts unprotected: table full */
	_Atomic uint64_t used;		/* places counted (see count_in()) */
	_Atomic uint64_t ev_head;	/* events ever written */
	_Atomic uint64_t reclaimed;	/* breakers whose place was reclaimed */
	_Atomic uint64_t reclaim_hand;	/* next search: slot | ms found none << 32 */
	uint64_t names_off;		/* the names array */
	uint32_t name_size;
	_Atomic uint32_t full_ms;	/* found full by an exact count then */
	uint64_t cold_off;		/* the cold array */
};

/* One event of the ring; see table.c for the protocol. */
struct cb_ring_entry {
	_Atomic uint64_t seq;		/* n+1, or RING_WRITING | n+1 */
	_Atomic uint64_t time_ms;	/* ms (40 bits) | tag << 40 */
	_Atomic uint64_t slot_pid;	/* slot (21) | pid << 21 (22) | tag << 43 */
	_Atomic uint64_t what;		/* from | to << 8 | why << 16 | tag << 24 */
	uint8_t pad[32];
};

/* A slot's cold part: the breaker's cold words, then the table's. */
struct cb_slot_cold {
	struct cb_cold br;
	_Atomic uint64_t own;		/* the claim protocol (table.c) */
	_Atomic uint64_t mark;		/* reclaim: attempts (32) | ms (32) */
	_Atomic uint64_t born_ev;	/* events before it: the slot's
					 * previous destinations' */
	_Atomic uint32_t reach;		/* as home: the farthest a key of
					 * this home was ever placed (table.c) */
} __attribute__((aligned(64)));

/* A slot's host name; see table.c for the protocol. */
struct cb_name_entry {
	_Atomic uint64_t word;		/* 0 | CLAIM|stamp | READY|sum|len */
	_Atomic uint64_t w[CB_NAME_WORDS];	/* the bytes, NUL-padded */
};

_Static_assert(sizeof(struct cb_shm_header) % 8 == 0 &&
	       offsetof(struct cb_shm_header, magic) == 0,
	       "the header: magic first, words aligned");
_Static_assert(sizeof(struct cb_ring_entry) == 64, "an event is one line");
_Static_assert(sizeof(struct cb_slot_cold) == 320 &&
	       offsetof(struct cb_slot_cold, br) == 0,
	       "a cold part is five lines, the breaker's first");
_Static_assert(offsetof(struct cb_slot_cold, own) >= 64,
	       "the claim word is not on the line an admission writes");
_Static_assert(2ull * CB_MAX_CAPACITY <= 1ull << CB_SLOT_BITS,
	       "every slot index fits CB_SLOT_BITS");

#endif
