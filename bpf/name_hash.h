/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The label-wise name hash, shared by the kernel programs, the sluice-bpf
 * helper and (re-implemented, checked by shared test vectors) the TypeScript
 * side in packages/contracts/src/name-hash.ts.
 *
 *   hash(name) = FNV-1a 64 over the bytes of the lower-case name (no trailing
 *                dot) taken from the LAST byte to the first; 0 becomes 1.
 *
 * Walking the name backwards makes every suffix a prefix of the walk: after
 * the bytes of "example.test" the state is exactly hash("example.test"), so
 * one pass over "api.example.test" yields the hash of every label-aligned
 * suffix (taken at each '.'), which is what `*.` and `**.` rules are keyed
 * by. 0 is reserved for "no name" in records and maps.
 */
#ifndef SLUICE_NAME_HASH_H
#define SLUICE_NAME_HASH_H

#define SLUICE_FNV_OFFSET 0xcbf29ce484222325ULL
#define SLUICE_FNV_PRIME 0x00000100000001b3ULL

static inline __attribute__((always_inline)) unsigned long long sluice_fnv_step(unsigned long long h, unsigned char c)
{
	return (h ^ c) * SLUICE_FNV_PRIME;
}

static inline __attribute__((always_inline)) unsigned long long sluice_hash_final(unsigned long long h)
{
	return h ? h : 1;
}

#ifndef __bpf__
#include <stddef.h>
/* Userspace: hash of name[0..len) (already lower-case, no trailing dot). */
static inline unsigned long long sluice_name_hash(const char *name, size_t len)
{
	unsigned long long h = SLUICE_FNV_OFFSET;
	while (len--)
		h = sluice_fnv_step(h, (unsigned char)name[len]);
	return sluice_hash_final(h);
}
#endif

#endif
