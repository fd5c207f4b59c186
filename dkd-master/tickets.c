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
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "dkd.h"
#include "log.h"

/*
 * Canvas tickets.  A WebSocket outlives the 15-minute access token it
 * joined with, so CANVAS_JOIN hands dkd-api a ticket: a random name,
 * kept only here, for (user, project, connection) while the connection
 * lives.  Canvas ops authenticate with it and act on its project only.
 * Tickets belong to one start of dkd-api: when it is restarted, its
 * tickets are void, and so are the event subscriptions they imply.
 */

#define TICKETS_MAX	4096		/* dkd-api has 1,000 connections */

struct ticket {
	RB_ENTRY(ticket)	 entry;
	char			 key[TICKET_LEN + 1];
	char			 user_id[UUID_LEN + 1];
	char			 project_id[UUID_LEN + 1];
	uint32_t		 conn;
};

/* How many tickets a project has: it gets events while this is > 0. */
struct ticket_project {
	RB_ENTRY(ticket_project) entry;
	char			 project_id[UUID_LEN + 1];
	int			 n;
};

static int	ticket_cmp(struct ticket *, struct ticket *);
static int	tproject_cmp(struct ticket_project *, struct ticket_project *);
RB_HEAD(tickets, ticket);
RB_HEAD(tprojects, ticket_project);
RB_PROTOTYPE_STATIC(tickets, ticket, entry, ticket_cmp)
RB_GENERATE_STATIC(tickets, ticket, entry, ticket_cmp)
RB_PROTOTYPE_STATIC(tprojects, ticket_project, entry, tproject_cmp)
RB_GENERATE_STATIC(tprojects, ticket_project, entry, tproject_cmp)

static struct tickets	 tickets = RB_INITIALIZER(&tickets);
static struct tprojects	 tprojects = RB_INITIALIZER(&tprojects);
static int		 nticket;
static unsigned		 api_generation;

static int
ticket_cmp(struct ticket *a, struct ticket *b)
{
	return (strcmp(a->key, b->key));
}

static int
tproject_cmp(struct ticket_project *a, struct ticket_project *b)
{
	return (strcmp(a->project_id, b->project_id));
}

static struct ticket_project *
tproject_find(const char *project_id)
{
	struct ticket_project	 key;

	if (strlcpy(key.project_id, project_id, sizeof(key.project_id)) >=
	    sizeof(key.project_id))
		return (NULL);
	return (RB_FIND(tprojects, &tprojects, &key));
}

static void
ticket_remove(struct ticket *t)
{
	struct ticket_project	*tp;

	if ((tp = tproject_find(t->project_id)) != NULL && --tp->n == 0) {
		RB_REMOVE(tprojects, &tprojects, tp);
		free(tp);
	}
	RB_REMOVE(tickets, &tickets, t);
	explicit_bzero(t, sizeof(*t));
	free(t);
	nticket--;
}

/* Forget the tickets of a dkd-api that is gone. */
static void
tickets_sync(void)
{
	struct ticket	*t;
	unsigned	 gen = supervisor_generation(PROC_API);

	if (gen == api_generation)
		return;
	while ((t = RB_ROOT(&tickets)) != NULL)
		ticket_remove(t);
	api_generation = gen;
}

/* A new ticket for user on project, connection conn; -1 if full. */
int
ticket_issue(const char *user_id, const char *project_id, uint32_t conn,
    char out[TICKET_LEN + 1])
{
	struct ticket		*t;
	struct ticket_project	*tp;
	uint8_t			 rnd[TICKET_LEN / 2];
	size_t			 i;

	tickets_sync();
	if (nticket >= TICKETS_MAX) {
		log_warnx("canvas: %d tickets already; refusing another",
		    nticket);
		return (-1);
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (-1);
	if ((tp = tproject_find(project_id)) == NULL) {
		if ((tp = calloc(1, sizeof(*tp))) == NULL) {
			free(t);
			return (-1);
		}
		strlcpy(tp->project_id, project_id, sizeof(tp->project_id));
		RB_INSERT(tprojects, &tprojects, tp);
	}
	tp->n++;
	arc4random_buf(rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		(void)snprintf(t->key + 2 * i, 3, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof(rnd));
	strlcpy(t->user_id, user_id, sizeof(t->user_id));
	strlcpy(t->project_id, project_id, sizeof(t->project_id));
	t->conn = conn;
	RB_INSERT(tickets, &tickets, t);
	nticket++;
	strlcpy(out, t->key, TICKET_LEN + 1);
	return (0);
}

static struct ticket *
ticket_find(const char *key)
{
	struct ticket	 k;

	tickets_sync();
	if (strlcpy(k.key, key, sizeof(k.key)) >= sizeof(k.key))
		return (NULL);
	return (RB_FIND(tickets, &tickets, &k));
}

/*
 * The request's token slot names a ticket: find it and its user, who is
 * read again so that a deleted user or a new role counts at once.
 * 0 with req->authed set or not; -1 on a database error.
 */
int
ticket_resolve(struct request *req)
{
	struct ticket	*t;
	int		 rc;

	if ((t = ticket_find(req->token_hash)) == NULL)
		return (0);
	if ((rc = db_user_get(t->user_id, &req->user)) == ST_ERROR)
		return (-1);
	if (rc == ST_NONE) {
		ticket_remove(t);
		return (0);
	}
	strlcpy(req->ticket.project_id, t->project_id,
	    sizeof(req->ticket.project_id));
	req->ticket.conn = t->conn;
	req->authed = 1;
	return (0);
}

void
ticket_release(const char *key)
{
	struct ticket	*t;

	if ((t = ticket_find(key)) != NULL)
		ticket_remove(t);
}

/* Does anybody hold a ticket for project_id (and so want its events)? */
int
tickets_project_live(const char *project_id)
{
	tickets_sync();
	return (tproject_find(project_id) != NULL);
}
