/*
 * Copyright (c) 2026 The DeployKit Authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "compat.h"

/*
 * Answers kept for reads the master marks with a generation (see
 * request_cacheable in dkd-master/request.c).  dkd-api sends the
 * generation of its copy with the next identical request; the master
 * still authenticates and authorises the caller, then answers 304 when
 * nothing was written since, and the copy goes out instead of a freshly
 * rendered list.  The key is the op and its fields, never the token: an
 * answer is shared only by callers the master let through.
 */

#define RCACHE_ENTRIES	256
#define RCACHE_BYTES	(16 * 1024 * 1024)
#define RCACHE_BODY_MAX	(1024 * 1024)

static int	rcache_cmp(struct rcache_entry *, struct rcache_entry *);
RB_HEAD(rcache_tree, rcache_entry);
RB_PROTOTYPE_STATIC(rcache_tree, rcache_entry, entry, rcache_cmp)
RB_GENERATE_STATIC(rcache_tree, rcache_entry, entry, rcache_cmp)

static struct rcache_tree	 tree = RB_INITIALIZER(&tree);
static TAILQ_HEAD(, rcache_entry) lru = TAILQ_HEAD_INITIALIZER(lru);
static int			 nentries;
static size_t			 nbytes;

static int
rcache_cmp(struct rcache_entry *a, struct rcache_entry *b)
{
	int	 c;

	if (a->keylen != b->keylen)
		return (a->keylen < b->keylen ? -1 : 1);
	c = memcmp(a->key, b->key, a->keylen);
	return (c);
}

static void
rcache_free(struct rcache_entry *e)
{
	free(e->key);
	free(e->body);
	free(e);
}

/* Out of the cache; freed now, or when the last call holding it ends. */
static void
rcache_unlink(struct rcache_entry *e)
{
	RB_REMOVE(rcache_tree, &tree, e);
	TAILQ_REMOVE(&lru, e, lru);
	e->live = 0;
	nentries--;
	nbytes -= e->bodylen + e->keylen;
	if (e->refs == 0)
		rcache_free(e);
}

/* The copy for key, held for the caller (rcache_release), or NULL. */
struct rcache_entry *
rcache_hold(const void *key, size_t keylen)
{
	struct rcache_entry	 k, *e;

	k.key = (uint8_t *)key;
	k.keylen = keylen;
	if ((e = RB_FIND(rcache_tree, &tree, &k)) == NULL)
		return (NULL);
	TAILQ_REMOVE(&lru, e, lru);
	TAILQ_INSERT_HEAD(&lru, e, lru);
	e->refs++;
	return (e);
}

void
rcache_release(struct rcache_entry *e)
{
	if (e == NULL)
		return;
	if (--e->refs == 0 && !e->live)
		rcache_free(e);
}

/* Keep body as the answer to key at generation; best effort. */
void
rcache_store(const void *key, size_t keylen, uint64_t generation,
    const void *body, size_t bodylen)
{
	struct rcache_entry	 k, *e, *old;

	if (bodylen > RCACHE_BODY_MAX || keylen > RCACHE_BODY_MAX)
		return;
	k.key = (uint8_t *)key;
	k.keylen = keylen;
	if ((old = RB_FIND(rcache_tree, &tree, &k)) != NULL)
		rcache_unlink(old);
	while (nentries > 0 && (nentries >= RCACHE_ENTRIES ||
	    nbytes + bodylen + keylen > RCACHE_BYTES))
		rcache_unlink(TAILQ_LAST(&lru, rcache_lru));
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->key = malloc(keylen)) == NULL ||
	    (e->body = malloc(bodylen > 0 ? bodylen : 1)) == NULL) {
		if (e != NULL)
			rcache_free(e);
		return;
	}
	memcpy(e->key, key, keylen);
	e->keylen = keylen;
	memcpy(e->body, body, bodylen);
	e->bodylen = bodylen;
	e->generation = generation;
	e->live = 1;
	RB_INSERT(rcache_tree, &tree, e);
	TAILQ_INSERT_HEAD(&lru, e, lru);
	nentries++;
	nbytes += bodylen + keylen;
}
