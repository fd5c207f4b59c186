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

/*
 * The master's request handlers, not only its decoder: any op, any
 * fields, as any caller (nobody, a member, an admin, a stale token,
 * root on the control socket, another local user, a canvas connection
 * with a ticket for the fixture project), against a real SQLite
 * database in a temporary directory.  Every request must be
 * answered exactly once, within seconds, with a reply that renders as
 * JSON; ASan and UBSan watch the rest.  The master's main() is not
 * linked: this file stands in for dkd.c.
 */

#include <sys/types.h>

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>
#include <yajl/yajl_gen.h>

#include "db.h"
#include "dkd.h"
#include "log.h"
#include "master_stubs.h"
#include "tree_json.h"

#define TOKEN_ADMIN	"fuzz-admin-token"
#define TOKEN_MEMBER	"fuzz-member-token"
#define REPLY_WAIT_SEC	10

enum fuzz_caller {
	AS_NOBODY,
	AS_MEMBER,
	AS_ADMIN,
	AS_STALE,
	AS_ROOT_CTL,
	AS_USER_CTL,
	AS_TICKET,
	AS_MAX
};

static struct dkd	 fuzz_env;
struct dkd		*env = &fuzz_env;

static int		 replies;
static char		 ticket[TICKET_LEN + 1];
static char		 dir[] = "/tmp/dkd-fuzz-handlers.XXXXXX";

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* An admin and a member with sessions whose tokens we know. */
static void
fixture(void)
{
	char	 sql[4096], ha[SHA256_HEX_LEN + 1], hm[SHA256_HEX_LEN + 1];

	sha256_hex(TOKEN_ADMIN, strlen(TOKEN_ADMIN), ha);
	sha256_hex(TOKEN_MEMBER, strlen(TOKEN_MEMBER), hm);
	(void)snprintf(sql, sizeof(sql),
	    "DELETE FROM sessions WHERE id IN ('s-admin', 's-member');"
	    "INSERT OR IGNORE INTO users (id, email, name, password_hash, "
	    "role) VALUES ('u-admin', 'admin@fuzz.test', 'Admin', 'x', "
	    "'admin'), ('u-member', 'member@fuzz.test', 'Member', 'x', "
	    "'member');"
	    "UPDATE users SET role = 'admin' WHERE id = 'u-admin';"
	    "UPDATE users SET role = 'member' WHERE id = 'u-member';"
	    "INSERT OR IGNORE INTO sessions (id, user_id, access_token_hash, "
	    "refresh_token_hash, expires_at, refresh_expires_at) VALUES "
	    "('s-admin', 'u-admin', '%s', 'r-admin', '2999-01-01 00:00:00', "
	    "'2999-01-01 00:00:00'), ('s-member', 'u-member', '%s', "
	    "'r-member', '2999-01-01 00:00:00', '2999-01-01 00:00:00');"
	    /* A project with a service, its node and a group, by id. */
	    "INSERT OR IGNORE INTO projects (id, name, slug) VALUES "
	    "('p-fuzz', 'Fuzz', 'fuzz-000000');"
	    "INSERT OR IGNORE INTO services (id, project_id, name) VALUES "
	    "('s-fuzz', 'p-fuzz', 'web');"
	    "INSERT OR IGNORE INTO canvas_nodes (id, project_id, type, label) "
	    "VALUES ('g-fuzz', 'p-fuzz', 'group', 'g');"
	    "INSERT OR IGNORE INTO canvas_nodes (id, project_id, type, label, "
	    "service_id) VALUES ('n-fuzz', 'p-fuzz', 'service', 'web', "
	    "'s-fuzz');",
	    ha, hm);
	(void)sqlite3_exec(db_handle(), sql, NULL, NULL, NULL);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 path[256], errbuf[1024];

	log_init(1, 0);
	log_setlevel(LOG_LEVEL_WARN);
	log_procinit("fuzz");
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	scratch_remove_at_exit(dir);
	config_defaults(&env->conf);
	(void)snprintf(path, sizeof(path), "%s/dkd.db", dir);
	strlcpy(env->conf.database, path, sizeof(env->conf.database));
	if ((env->base = event_base_new()) == NULL)
		errx(1, "event_base_new");
	env->started = time(NULL);
	if (db_open(path, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	if (presets_load(FUZZ_PRESETS, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	hasher_init();
	auth_init();
	return (0);
}

/* The origin's side: the reply must be one well-formed answer. */
static void
fuzz_reply(struct request *req, struct wbuf *wb)
{
	struct msg_reply	 m;
	yajl_gen		 g;
	struct rbuf		 r;

	replies++;
	rbuf_init(&r, wb->buf, wb->len);
	if (msg_reply_get(&r, &m) == -1)
		abort();
	if (m.tree_len == 0)
		return;
	rbuf_init(&r, m.tree, m.tree_len);
	if ((g = yajl_gen_alloc(NULL)) == NULL)
		abort();
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	if (tree_to_json(&r, g) == -1) {
		fprintf(stderr, "op %s: reply does not render\n",
		    req->spec->name);
		abort();
	}
	yajl_gen_free(g);
}

static void
give_up(int fd, short event, void *arg)
{
	*(int *)arg = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request	*req;
	struct event	*timer;
	struct timeval	 tv = { REPLY_WAIT_SEC, 0 };
	struct rbuf	 r;
	const char	*token = NULL;
	uint32_t	 op;
	int		 caller, late = 0;

	if (size < 1)
		return (0);
	caller = data[0] % AS_MAX;
	rbuf_init(&r, data + 1, size - 1);
	op = wire_get_u32(&r);
	fixture();
	if ((req = request_new(caller >= AS_ROOT_CTL ? CALLER_CTL :
	    CALLER_API, 1, fuzz_reply, NULL)) == NULL)
		abort();
	strlcpy(req->client, "192.0.2.1", sizeof(req->client));
	switch (caller) {
	case AS_MEMBER:
		token = TOKEN_MEMBER;
		break;
	case AS_ADMIN:
		token = TOKEN_ADMIN;
		break;
	case AS_STALE:
		token = "no-such-token";
		break;
	}
	if (token != NULL)
		sha256_hex(token, strlen(token), req->token_hash);
	if (caller == AS_TICKET) {
		/* A fresh ticket each time: the last input may have left. */
		ticket_release(ticket);
		if (ticket_issue("u-member", "p-fuzz", 1, ticket) == -1)
			abort();
		strlcpy(req->token_hash, ticket, sizeof(req->token_hash));
	}
	if (request_decode(req, op, &r) == -1)
		return (0);	/* the master would kill the sender */
	replies = 0;
	if (caller == AS_USER_CTL)
		reply_error(req, 403, "Permission denied: dkctl needs root.");
	else {
		if (caller == AS_ROOT_CTL)
			request_as_root(req);
		request_run(req);
	}
	if ((timer = evtimer_new(env->base, give_up, &late)) == NULL)
		abort();
	evtimer_add(timer, &tv);
	while (replies == 0 && !late)
		event_base_loop(env->base, EVLOOP_ONCE);
	event_free(timer);
	if (replies != 1) {
		fprintf(stderr, "%d replies\n", replies);
		abort();
	}
	return (0);
}
