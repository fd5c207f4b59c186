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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "compat.h"
#include "tree.h"
#include "tval.h"
#include "util.h"

/*
 * The canvas's client messages: {"type": "...", "payload": ...}.  The
 * envelope is read by body.c's decoder, as the body of a request with
 * two fields, so there is one JSON reader and the payload becomes a
 * value tree exactly as a REST body's FT_JSON field does.  Messages for
 * the master keep that tree as it is; the few that stay in dkd-api
 * (auth, cursors, drafts) are read out of it here.  No I/O, so the
 * fuzz target runs all of it.
 */

enum { ENV_TYPE, ENV_PAYLOAD };

static const struct op_field envelope_fields[] = {
	[ENV_TYPE] = { "type", FS_BODY, FT_STR, CANVAS_PAYLOAD_MAX, 0 },
	[ENV_PAYLOAD] = { "payload", FS_BODY, FT_JSON, CANVAS_PAYLOAD_MAX, 0 },
};

static const struct op_spec envelope = {
	"canvas-message", M_NONE, NULL, AUTH_PUBLIC, 0,
	envelope_fields, nitems(envelope_fields)
};

static const struct {
	const char	*type;
	enum cmsg_kind	 kind;
	uint32_t	 op;
} types[] = {
	{ "auth",			CMSG_AUTH,		0 },
	{ "cursor:move",		CMSG_CURSOR,		0 },
	{ "service:draft-start",	CMSG_DRAFT_START,	0 },
	{ "service:draft-cancel",	CMSG_DRAFT_CANCEL,	0 },
	{ "node:upsert",	CMSG_OP,	OP_CANVAS_NODE_UPSERT },
	{ "node:delete",	CMSG_OP,	OP_CANVAS_NODE_DELETE },
	{ "node:move",		CMSG_OP,	OP_CANVAS_NODE_MOVE },
	{ "edge:upsert",	CMSG_OP,	OP_CANVAS_EDGE_UPSERT },
	{ "edge:delete",	CMSG_OP,	OP_CANVAS_EDGE_DELETE },
	{ "service:create",	CMSG_OP,	OP_CANVAS_SERVICE_CREATE },
};

/* The text of an error message: what, then arg if any. */
static int
msg_error(struct canvas_msg *m, const char *what, const char *arg)
{
	m->kind = CMSG_ERROR;
	if (asprintf(&m->error, "%s%s", what, arg != NULL ? arg : "") == -1)
		m->error = NULL;
	return (-1);
}

/* A number of the payload, or 0 when absent; -1 if not a number. */
static int
number_at(const struct tval *p, const char *key, double *out)
{
	const struct tval	*v;

	*out = 0;
	if ((v = tval_get(p, key)) == NULL)
		return (0);
	if (v->tag == TREE_INT)
		*out = (double)v->i;
	else if (v->tag == TREE_DOUBLE)
		*out = v->d;
	else
		return (-1);
	return (0);
}

/* The draft id of the payload: a string, not empty, not too long. */
static int
draft_id_at(const struct tval *p, struct canvas_msg *m)
{
	const char	*s;

	if ((s = tval_str(p, "draft_id")) == NULL || *s == '\0' ||
	    strlcpy(m->draft_id, s, sizeof(m->draft_id)) >=
	    sizeof(m->draft_id))
		return (-1);
	return (0);
}

/* Messages that dkd-api handles itself: read what they carry. */
static int
local_fields(struct canvas_msg *m, const struct tval *p)
{
	const char	*tok;

	switch (m->kind) {
	case CMSG_AUTH:
		/* Anything but a token fails the handshake at the master. */
		if ((tok = tval_str(p, "token")) == NULL ||
		    strlen(tok) > CANVAS_TOKEN_MAX)
			tok = "";
		strlcpy(m->token, tok, sizeof(m->token));
		return (0);
	case CMSG_CURSOR:
		if (!tval_is(p, TREE_MAP) || number_at(p, "x", &m->x) == -1 ||
		    number_at(p, "y", &m->y) == -1)
			m->kind = CMSG_IGNORE;
		return (0);
	case CMSG_DRAFT_START:
		if (draft_id_at(p, m) == -1 || number_at(p, "x", &m->x) == -1 ||
		    number_at(p, "y", &m->y) == -1)
			return (msg_error(m, "Invalid draft payload.", NULL));
		return (0);
	case CMSG_DRAFT_CANCEL:
		if (draft_id_at(p, m) == -1)
			return (msg_error(m, "Invalid draft payload.", NULL));
		return (0);
	default:
		/* service:create answers with its draft id. */
		if (m->op == OP_CANVAS_SERVICE_CREATE &&
		    draft_id_at(p, m) == -1)
			return (msg_error(m,
			    "Invalid service create payload.", NULL));
		return (0);
	}
}

/*
 * Decode one client message into m (cleared first).  0 with m->kind
 * saying what it is; -1 with m->kind CMSG_ERROR and m->error the text
 * for the client's "error" message (NULL if out of memory).
 */
int
canvas_msg_decode(const uint8_t *buf, size_t len, struct canvas_msg *m)
{
	struct op_args		 a;
	struct body_error	 err;
	struct tval		 p;
	struct rbuf		 r;
	const char		*type;
	size_t			 i, ntypes = nitems(types);
	int			 rv;

	memset(m, 0, sizeof(*m));
	memset(&a, 0, sizeof(a));
	if (body_decode(buf, len, &envelope, &a, &err) == -1)
		return (msg_error(m, "Invalid message format.", NULL));
	type = a.present[ENV_TYPE] ? a.str[ENV_TYPE] : "";
	for (i = 0; i < ntypes; i++)
		if (strcmp(types[i].type, type) == 0)
			break;
	if (i == ntypes) {
		rv = msg_error(m, "Unknown message type: ", type);
		op_args_clear(&a);
		return (rv);
	}
	m->kind = types[i].kind;
	m->op = types[i].op;
	/* An absent or null payload goes on as null. */
	if (a.present[ENV_PAYLOAD]) {
		m->payload.buf = (uint8_t *)a.str[ENV_PAYLOAD];
		m->payload.len = m->payload.cap = a.len[ENV_PAYLOAD];
		m->payload.max = CANVAS_PAYLOAD_MAX;
		a.str[ENV_PAYLOAD] = NULL;
	} else {
		wbuf_init(&m->payload, CANVAS_PAYLOAD_MAX);
		tree_null(&m->payload);
	}
	op_args_clear(&a);
	rbuf_init(&r, m->payload.buf, m->payload.len);
	if (m->payload.error || tval_decode(&r, &p, m->payload.len) == -1) {
		canvas_msg_clear(m);
		return (msg_error(m, "Invalid message format.", NULL));
	}
	rv = local_fields(m, &p);
	tval_free(&p);
	return (rv);
}

/*
 * An IMSG_API_REQUEST for op: token is a token's hash or a ticket.
 * The op's fields are found by name, so this needs only the contract.
 * payload (a tree, taken) may be NULL.  -1 if the op lacks a field it
 * must have or a value does not fit.
 */
int
canvas_request(struct wbuf *wb, uint32_t op, const char *token,
    const char *client, const char *project_id, uint32_t conn,
    struct wbuf *payload)
{
	const struct op_spec	*spec;
	const struct op_field	*f;
	struct op_args		 a;
	int			 i, rv = 0;

	memset(&a, 0, sizeof(a));
	if ((spec = op_spec(op)) == NULL)
		rv = -1;
	for (i = 0; rv == 0 && i < spec->nfields; i++) {
		f = &spec->fields[i];
		if (strcmp(f->name, "project_id") == 0 && project_id != NULL)
			rv = strlen(project_id) > f->max ? -1 :
			    op_args_set_str(&a, i, project_id);
		else if (strcmp(f->name, "conn") == 0 && conn > 0) {
			a.num[i] = conn;
			a.present[i] = 1;
		} else if (strcmp(f->name, "payload") == 0 &&
		    payload != NULL) {
			if (payload->len > f->max)
				rv = -1;
			else
				rv = op_args_set_tree(&a, i, payload);
		}
		if (rv == 0 && f->required && !a.present[i])
			rv = -1;
	}
	if (rv == 0) {
		wbuf_init(wb, DKD_IMSG_MAX_INTERNAL - 64);
		msg_request_put(wb, op, token, client, 0);
		op_args_put(wb, spec, &a);
		if (wb->error) {
			wbuf_free(wb);
			rv = -1;
		}
	}
	op_args_clear(&a);
	if (payload != NULL)
		wbuf_free(payload);
	return (rv);
}

void
canvas_msg_clear(struct canvas_msg *m)
{
	free(m->error);
	wbuf_free(&m->payload);
	explicit_bzero(m->token, sizeof(m->token));
	memset(m, 0, sizeof(*m));
}
