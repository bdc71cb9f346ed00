/*
 * empty.c - an empty preload library: the baseline of `make bench`'s
 * process-start row (what any LD_PRELOAD costs a process, before the shim
 * does anything).  Built as $(B)/bench/empty.so.
 */
