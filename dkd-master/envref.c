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

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * Env var resolution (spec 8.5 and Decision 3).  A service's variables
 * are its project's, then its group's, then its own, later scopes
 * winning.  A value may name another service of the project:
 *
 *	${{db.HOST}}	dk-<project slug>-db, the alias of its containers
 *	${{db.PORT}}	db's first container port, from its latest
 *			deployment that did not fail
 *	${{db.KEY}}	db's own resolved value of KEY
 *
 * Anything else, and names that are no service, stay as written.  A
 * chain of KEY references that comes back on itself is a cycle, an
 * error that names it.  The model is a project's variables in memory:
 * loaded from the database, optionally with staged changes laid over it,
 * so that the same code checks a change before it is staged, while it
 * is applied, and resolves what a deployment gets.  Values are secrets:
 * messages name services and keys, never values.
 */

#define ENV_RESOLVED_MAX	(256 * 1024)	/* bytes of one value */
#define ENV_DEPTH_MAX		64	/* KEY references in a chain */

struct env_row {
	char		 id[UUID_LEN + 1];	/* "": staged */
	char		 scope[ENV_SCOPE_LEN + 1];
	char		 scope_id[NODE_ID_LEN + 1];
	char		 key[ENV_KEY_LEN + 1];
	char		*value;
	int		 gone;
};

struct env_var {
	const char	*key;		/* of its row */
	const char	*value;
	int		 state;		/* VAR_* */
	char		*resolved;
	size_t		 rlen;
	char		**refs;		/* names it refers to */
	size_t		 nrefs;
};

#define VAR_NEW		0
#define VAR_BUSY	1	/* on the resolution stack */
#define VAR_DONE	2

struct env_svc {
	char		 id[NODE_ID_LEN + 1];	/* or a temp id */
	char		 name[SERVICE_NAME_LEN + 1];
	char		 group[NODE_ID_LEN + 1];
	int		 port;			/* 0: unknown */
	int		 gone;
	struct env_var	*vars;
	size_t		 nvars;
};

struct env_model {
	char		 project_id[UUID_LEN + 1];
	char		 slug[PROJECT_SLUG_LEN + 1];
	struct env_row	*rows;
	size_t		 nrows;
	struct env_svc	*svc;
	size_t		 nsvc;
	struct canvas_node *nodes;
	size_t		 nnodes;
	int		 merged;
	/* The chain being resolved, for naming a cycle. */
	struct {
		size_t	 svc, var;
	}		 stack[ENV_DEPTH_MAX];
	int		 depth;
	char		*msg;		/* what went wrong */
	size_t		 msglen;
	int		 fault;		/* out of memory */
};

struct sbuf {
	char		*p;
	size_t		 len, cap;
};

static int	resolve_var(struct env_model *, size_t, size_t);

/* 0; -1 without memory; SBUF_FULL beyond ENV_RESOLVED_MAX. */
#define SBUF_FULL	(-2)

static int
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (b->len + n > ENV_RESOLVED_MAX)
		return (SBUF_FULL);
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 64 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return (-1);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return (0);
}

static void
sbuf_free(struct sbuf *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->cap);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void
vars_clear(struct env_svc *s)
{
	size_t	 i, j;

	for (i = 0; i < s->nvars; i++) {
		if (s->vars[i].resolved != NULL)
			explicit_bzero(s->vars[i].resolved, s->vars[i].rlen);
		free(s->vars[i].resolved);
		for (j = 0; j < s->vars[i].nrefs; j++)
			free(s->vars[i].refs[j]);
		free(s->vars[i].refs);
	}
	free(s->vars);
	s->vars = NULL;
	s->nvars = 0;
}

void
envmodel_free(struct env_model *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nsvc; i++)
		vars_clear(&m->svc[i]);
	for (i = 0; i < m->nrows; i++) {
		if (m->rows[i].value != NULL)
			explicit_bzero(m->rows[i].value,
			    strlen(m->rows[i].value));
		free(m->rows[i].value);
	}
	free(m->rows);
	free(m->svc);
	canvas_nodes_free(m->nodes, m->nnodes);
	free(m);
}

static struct env_row *
row_add(struct env_model *m, const char *id, const char *scope,
    const char *scope_id, const char *key, const char *value)
{
	struct env_row	*rows, *r;

	if ((rows = reallocarray(m->rows, m->nrows + 1, sizeof(*rows))) ==
	    NULL)
		return (NULL);
	m->rows = rows;
	r = &m->rows[m->nrows];
	memset(r, 0, sizeof(*r));
	if ((r->value = strdup(value)) == NULL)
		return (NULL);
	m->nrows++;
	strlcpy(r->id, id, sizeof(r->id));
	strlcpy(r->scope, scope, sizeof(r->scope));
	strlcpy(r->scope_id, scope_id, sizeof(r->scope_id));
	strlcpy(r->key, key, sizeof(r->key));
	m->merged = 0;
	return (r);
}

static struct env_svc *
svc_find_id(struct env_model *m, const char *id)
{
	size_t	 i;

	for (i = 0; i < m->nsvc; i++)
		if (!m->svc[i].gone && strcmp(m->svc[i].id, id) == 0)
			return (&m->svc[i]);
	return (NULL);
}

static struct env_svc *
svc_add(struct env_model *m, const char *id, const char *name)
{
	struct env_svc	*svc, *s;

	if ((svc = reallocarray(m->svc, m->nsvc + 1, sizeof(*svc))) == NULL)
		return (NULL);
	m->svc = svc;
	s = &m->svc[m->nsvc++];
	memset(s, 0, sizeof(*s));
	strlcpy(s->id, id, sizeof(s->id));
	strlcpy(s->name, name, sizeof(s->name));
	m->merged = 0;
	return (s);
}

/* The group a node sits in: its parent, when that is a group. */
static void
node_group(struct env_model *m, const struct canvas_node *n, char *out,
    size_t len)
{
	size_t	 i;

	out[0] = '\0';
	if (n == NULL || n->parent_id[0] == '\0')
		return;
	for (i = 0; i < m->nnodes; i++)
		if (strcmp(m->nodes[i].id, n->parent_id) == 0 &&
		    strcmp(m->nodes[i].type, "group") == 0) {
			strlcpy(out, n->parent_id, len);
			return;
		}
}

static const struct canvas_node *
node_find(struct env_model *m, const char *id, int by_service)
{
	size_t	 i;

	for (i = 0; i < m->nnodes; i++)
		if (strcmp(by_service ? m->nodes[i].service_id :
		    m->nodes[i].id, id) == 0)
			return (&m->nodes[i]);
	return (NULL);
}

/* The first container port of a ports tree, or 0. */
int
ports_first(const struct blob *b)
{
	struct tval		 v;
	struct rbuf		 r;
	const struct tval	*p;
	int			 port = 0;

	if (b->p == NULL)
		return (0);
	rbuf_init(&r, b->p, b->len);
	if (tval_decode(&r, &v, b->len) == -1)
		return (0);
	if (v.tag == TREE_ARRAY && v.n > 0 &&
	    (p = tval_get(&v.items[0], "container_port")) != NULL &&
	    p->tag == TREE_INT && p->i > 0 && p->i <= 65535)
		port = (int)p->i;
	tval_free(&v);
	return (port);
}

/*
 * The project's applied state: services, their groups and ports, and
 * every variable.  ST_OK, or ST_ERROR (logged).
 */
int
envmodel_load(const char *project_id, const char *slug, struct env_model **out)
{
	struct env_model	*m;
	struct service_ref	*refs = NULL;
	struct envvar		*vars = NULL;
	struct deployment	 d;
	struct env_svc		*s;
	size_t			 nrefs = 0, nvars = 0, i;
	int			 rc = ST_ERROR;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("%s", __func__);
		return (ST_ERROR);
	}
	strlcpy(m->project_id, project_id, sizeof(m->project_id));
	strlcpy(m->slug, slug, sizeof(m->slug));
	if (db_service_refs(project_id, &refs, &nrefs) != ST_OK ||
	    db_envvar_project(project_id, &vars, &nvars) != ST_OK ||
	    db_node_list(project_id, &m->nodes, &m->nnodes) != ST_OK)
		goto done;
	for (i = 0; i < nrefs; i++) {
		if ((s = svc_add(m, refs[i].id, refs[i].name)) == NULL)
			goto nomem;
		node_group(m, node_find(m, s->id, 1), s->group,
		    sizeof(s->group));
		switch (db_deployment_latest_live(s->id, &d)) {
		case ST_OK:
			s->port = ports_first(&d.ports);
			deployment_free(&d);
			break;
		case ST_NONE:
			break;
		default:
			goto done;
		}
	}
	for (i = 0; i < nvars; i++)
		if (row_add(m, vars[i].id, vars[i].scope, vars[i].scope_id,
		    vars[i].key, vars[i].value) == NULL)
			goto nomem;
	rc = ST_OK;
	goto done;
nomem:
	log_warn("%s", __func__);
done:
	free(refs);
	envvars_free(vars, nvars);
	if (rc != ST_OK)
		envmodel_free(m);
	else
		*out = m;
	return (rc);
}

static struct env_row *
row_by_id(struct env_model *m, const char *id)
{
	size_t	 i;

	for (i = 0; i < m->nrows; i++)
		if (!m->rows[i].gone && m->rows[i].id[0] != '\0' &&
		    strcmp(m->rows[i].id, id) == 0)
			return (&m->rows[i]);
	return (NULL);
}

/* Lay a staged service.create over the model. */
static int
stage_create(struct env_model *m, const struct pending *p,
    const struct tval *pl)
{
	const struct tval	*envs, *ports, *e;
	const char		*name, *key, *value;
	struct env_svc		*s;
	size_t			 i;

	if ((name = tval_str(pl, "name")) == NULL || p->target_temp_id[0] ==
	    '\0')
		return (ST_OK);
	if ((s = svc_add(m, p->target_temp_id, name)) == NULL)
		return (ST_ERROR);
	node_group(m, node_find(m, p->target_temp_id, 0), s->group,
	    sizeof(s->group));
	if ((ports = tval_get(pl, "ports")) != NULL && ports->tag ==
	    TREE_ARRAY && ports->n > 0 &&
	    (e = tval_get(&ports->items[0], "container_port")) != NULL &&
	    e->tag == TREE_INT && e->i > 0 && e->i <= 65535)
		s->port = (int)e->i;
	if ((envs = tval_get(pl, "env_vars")) == NULL || envs->tag !=
	    TREE_ARRAY)
		return (ST_OK);
	for (i = 0; i < envs->n; i++) {
		e = &envs->items[i];
		if ((key = tval_str(e, "key")) == NULL ||
		    (value = tval_str(e, "value")) == NULL)
			continue;
		if (row_add(m, "", "service", p->target_temp_id, key, value) ==
		    NULL)
			return (ST_ERROR);
	}
	return (ST_OK);
}

/*
 * Lay one staged change (decoded payload pl) over the model.  Entries
 * that do not fit are skipped: Apply will say what is wrong with them.
 */
int
envmodel_stage(struct env_model *m, const struct pending *p,
    const struct tval *pl)
{
	struct env_svc	*s;
	struct env_row	*r;
	const char	*name, *scope, *key, *value, *owner;

	m->merged = 0;
	if (strcmp(p->op, "service.create") == 0)
		return (stage_create(m, p, pl));
	if (strcmp(p->op, "service.update") == 0) {
		if ((name = tval_str(pl, "name")) != NULL &&
		    (s = svc_find_id(m, p->target_id)) != NULL)
			strlcpy(s->name, name, sizeof(s->name));
		return (ST_OK);
	}
	if (strcmp(p->op, "service.delete") == 0) {
		if ((s = svc_find_id(m, p->target_id)) != NULL)
			s->gone = 1;
		return (ST_OK);
	}
	if (strcmp(p->op, "env_var.create") == 0) {
		owner = p->parent_temp_id[0] != '\0' ? p->parent_temp_id :
		    p->target_id;
		if ((scope = tval_str(pl, "scope")) == NULL ||
		    (key = tval_str(pl, "key")) == NULL ||
		    (value = tval_str(pl, "value")) == NULL || *owner == '\0')
			return (ST_OK);
		return (row_add(m, "", scope, owner, key, value) == NULL ?
		    ST_ERROR : ST_OK);
	}
	if (strcmp(p->op, "env_var.update") == 0) {
		if ((value = tval_str(pl, "value")) == NULL ||
		    (r = row_by_id(m, p->target_id)) == NULL)
			return (ST_OK);
		free(r->value);
		if ((r->value = strdup(value)) == NULL)
			return (ST_ERROR);
		return (ST_OK);
	}
	if (strcmp(p->op, "env_var.delete") == 0) {
		if ((r = row_by_id(m, p->target_id)) != NULL)
			r->gone = 1;
		return (ST_OK);
	}
	return (ST_OK);
}

static int
var_cmp(const void *a, const void *b)
{
	const struct env_var	*x = a, *y = b;

	return (strcmp(x->key, y->key));
}

/* Put row r into s's variables, replacing one of the same key. */
static int
merge_row(struct env_svc *s, const struct env_row *r)
{
	struct env_var	*v;
	size_t		 i;

	for (i = 0; i < s->nvars; i++)
		if (strcmp(s->vars[i].key, r->key) == 0) {
			s->vars[i].value = r->value;
			return (0);
		}
	if ((v = reallocarray(s->vars, s->nvars + 1, sizeof(*v))) == NULL)
		return (-1);
	s->vars = v;
	v = &s->vars[s->nvars++];
	memset(v, 0, sizeof(*v));
	v->key = r->key;
	v->value = r->value;
	return (0);
}

/* Each service's variables: project, then group, then its own. */
static int
merge(struct env_model *m)
{
	static const char	*order[] = { "project", "group", "service" };
	struct env_svc		*s;
	const char		*owner;
	size_t			 i, j, k;

	for (i = 0; i < m->nsvc; i++) {
		s = &m->svc[i];
		vars_clear(s);
		if (s->gone)
			continue;
		for (k = 0; k < nitems(order); k++) {
			owner = k == 0 ? m->project_id : k == 1 ? s->group :
			    s->id;
			if (*owner == '\0')
				continue;
			for (j = 0; j < m->nrows; j++)
				if (!m->rows[j].gone &&
				    strcmp(m->rows[j].scope, order[k]) == 0 &&
				    strcmp(m->rows[j].scope_id, owner) == 0 &&
				    merge_row(s, &m->rows[j]) == -1)
					return (-1);
		}
		if (s->nvars > 1)
			qsort(s->vars, s->nvars, sizeof(*s->vars), var_cmp);
	}
	m->merged = 1;
	return (0);
}

/*
 * A reference at s (which starts with "${{"): its name and field, and
 * its length; 0 when s does not hold one.
 */
size_t
envref_parse(const char *s, const char **name, size_t *namelen,
    const char **field, size_t *fieldlen)
{
	const char	*p = s + 3;

	if (strncmp(s, "${{", 3) != 0)
		return (0);
	while (*p == ' ' || *p == '\t')
		p++;
	*name = p;
	if (!service_name_char((unsigned char)*p, 1))
		return (0);
	while (service_name_char((unsigned char)*p, 0))
		p++;
	*namelen = p - *name;
	if (*p++ != '.')
		return (0);
	*field = p;
	if (!env_key_char((unsigned char)*p, 1))
		return (0);
	while (env_key_char((unsigned char)*p, 0))
		p++;
	*fieldlen = p - *field;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "}}", 2) != 0)
		return (0);
	return (p + 2 - s);
}

static ssize_t
svc_by_name(struct env_model *m, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < m->nsvc; i++)
		if (!m->svc[i].gone && strlen(m->svc[i].name) == len &&
		    strncmp(m->svc[i].name, name, len) == 0)
			return ((ssize_t)i);
	return (-1);
}

static ssize_t
var_index(struct env_svc *s, const char *key, size_t len)
{
	size_t	 i;

	for (i = 0; i < s->nvars; i++)
		if (strlen(s->vars[i].key) == len &&
		    strncmp(s->vars[i].key, key, len) == 0)
			return ((ssize_t)i);
	return (-1);
}

static int
note_ref(struct env_var *v, const char *name, size_t len)
{
	char	**refs;
	size_t	 i;

	for (i = 0; i < v->nrefs; i++)
		if (strlen(v->refs[i]) == len &&
		    strncmp(v->refs[i], name, len) == 0)
			return (0);
	if ((refs = reallocarray(v->refs, v->nrefs + 1, sizeof(*refs))) ==
	    NULL)
		return (-1);
	v->refs = refs;
	if ((v->refs[v->nrefs] = strndup(name, len)) == NULL)
		return (-1);
	v->nrefs++;
	return (0);
}

static int
fail(struct env_model *m, const char *fmt, ...)
    __attribute__((__format__ (printf, 2, 3)));

static int
fail(struct env_model *m, const char *fmt, ...)
{
	va_list	 ap;

	if (m->msg != NULL && m->msg[0] == '\0') {
		va_start(ap, fmt);
		(void)vsnprintf(m->msg, m->msglen, fmt, ap);
		va_end(ap);
	}
	return (-1);
}

/* "Env var reference cycle: web.A -> db.B -> web.A" */
static int
fail_cycle(struct env_model *m, size_t si, size_t vi)
{
	char	 buf[1024];
	int	 i, start = 0;

	for (i = 0; i < m->depth; i++)
		if (m->stack[i].svc == si && m->stack[i].var == vi)
			start = i;
	buf[0] = '\0';
	for (i = start; i < m->depth; i++) {
		strlcat(buf, m->svc[m->stack[i].svc].name, sizeof(buf));
		strlcat(buf, ".", sizeof(buf));
		strlcat(buf, m->svc[m->stack[i].svc].vars[m->stack[i].var].key,
		    sizeof(buf));
		strlcat(buf, " -> ", sizeof(buf));
	}
	strlcat(buf, m->svc[si].name, sizeof(buf));
	strlcat(buf, ".", sizeof(buf));
	strlcat(buf, m->svc[si].vars[vi].key, sizeof(buf));
	return (fail(m, "Env var reference cycle: %s", buf));
}

/* Resolve variable vi of service si, and what it needs, once. */
static int
resolve_var(struct env_model *m, size_t si, size_t vi)
{
	struct env_var	*v = &m->svc[si].vars[vi];
	struct sbuf	 out = { 0 };
	const char	*p, *q, *name, *field;
	char		 num[16];
	size_t		 n, namelen, fieldlen;
	ssize_t		 ti, tv;
	int		 special, rv = 0;

#define ADD(s, len)	do {						\
	if ((rv = sbuf_add(&out, (s), (len))) != 0)			\
		goto bad;						\
} while (0)

	if (v->state == VAR_DONE)
		return (0);
	if (v->state == VAR_BUSY)
		return (fail_cycle(m, si, vi));
	if (m->depth == ENV_DEPTH_MAX)
		return (fail(m, "Env var %s.%s: references are nested too "
		    "deeply.", m->svc[si].name, v->key));
	v->state = VAR_BUSY;
	m->stack[m->depth].svc = si;
	m->stack[m->depth].var = vi;
	m->depth++;
	for (p = v->value; *p != '\0'; p = q) {
		if ((q = strstr(p, "${{")) == NULL)
			q = p + strlen(p);
		ADD(p, q - p);
		if (*q == '\0')
			break;
		if ((n = envref_parse(q, &name, &namelen, &field,
		    &fieldlen)) == 0) {
			ADD(q, 3);
			q += 3;
			continue;
		}
		if ((rv = note_ref(v, name, namelen)) != 0)
			goto bad;
		ti = svc_by_name(m, name, namelen);
		special = fieldlen == 4 && (strncmp(field, "HOST", 4) == 0 ||
		    strncmp(field, "PORT", 4) == 0);
		if (ti != -1 && special && field[0] == 'H') {
			ADD("dk-", 3);
			ADD(m->slug, strlen(m->slug));
			ADD("-", 1);
			ADD(name, namelen);
		} else if (ti != -1 && special && m->svc[ti].port > 0) {
			(void)snprintf(num, sizeof(num), "%d",
			    m->svc[ti].port);
			ADD(num, strlen(num));
		} else if (ti != -1 && !special &&
		    (tv = var_index(&m->svc[ti], field, fieldlen)) != -1) {
			if (resolve_var(m, ti, tv) == -1) {
				rv = 1;
				goto bad;
			}
			/* Nothing moves while resolving: merge is done. */
			ADD(m->svc[ti].vars[tv].resolved,
			    m->svc[ti].vars[tv].rlen);
		} else
			ADD(q, n);
		q += n;
	}
	if (out.p == NULL)
		ADD("", 0);
#undef ADD
	v->resolved = out.p;
	v->rlen = out.len;
	v->state = VAR_DONE;
	m->depth--;
	return (0);
bad:
	if (rv == SBUF_FULL)
		(void)fail(m, "Env var %s.%s resolves to more than %d bytes.",
		    m->svc[si].name, v->key, ENV_RESOLVED_MAX);
	else if (rv == -1)
		m->fault = 1;
	sbuf_free(&out);
	v->state = VAR_NEW;
	m->depth--;
	return (-1);
}

static void
reset(struct env_model *m, char *msg, size_t len)
{
	size_t	 i, j;

	for (i = 0; i < m->nsvc; i++)
		for (j = 0; j < m->svc[i].nvars; j++)
			m->svc[i].vars[j].state = m->svc[i].vars[j].resolved !=
			    NULL ? VAR_DONE : VAR_NEW;
	m->depth = 0;
	m->fault = 0;
	m->msg = msg;
	m->msglen = len;
	if (msg != NULL && len > 0)
		msg[0] = '\0';
}

static int
prepare(struct env_model *m, char *msg, size_t len)
{
	if (!m->merged && merge(m) == -1) {
		log_warnx("%s: out of memory", __func__);
		return (ST_ERROR);
	}
	reset(m, msg, len);
	return (ST_OK);
}

/*
 * Resolve every variable of every service: 0 when all resolve, 1 with
 * msg set when one cannot (a cycle), ST_ERROR on a fault.
 */
int
envmodel_check(struct env_model *m, char *msg, size_t len)
{
	size_t	 i, j;

	if (prepare(m, msg, len) != ST_OK)
		return (ST_ERROR);
	for (i = 0; i < m->nsvc; i++)
		for (j = 0; j < m->svc[i].nvars; j++)
			if (!m->svc[i].gone && resolve_var(m, i, j) == -1)
				return (m->fault ? ST_ERROR : 1);
	return (0);
}

/*
 * The resolved variables of service id as a map tree into w, and, when
 * refs is not NULL, the services they name (see envmodel_refs).  0, 1
 * with msg set, or ST_ERROR; ST_NONE for a service not in the model.
 */
int
envmodel_resolve(struct env_model *m, const char *id, struct wbuf *w,
    char *msg, size_t len)
{
	struct env_svc	*s;
	size_t		 i, si;

	if (prepare(m, msg, len) != ST_OK)
		return (ST_ERROR);
	if ((s = svc_find_id(m, id)) == NULL)
		return (ST_NONE);
	si = s - m->svc;
	for (i = 0; i < s->nvars; i++)
		if (resolve_var(m, si, i) == -1)
			return (m->fault ? ST_ERROR : 1);
	if (w != NULL) {
		tree_map(w);
		for (i = 0; i < s->nvars; i++) {
			tree_key(w, s->vars[i].key);
			tree_strn(w, s->vars[i].resolved, s->vars[i].rlen);
		}
		tree_end(w);
	}
	return (0);
}

/*
 * After envmodel_resolve of service id: each name its variables refer
 * to, in the order they first do, with the (sorted) keys that refer to
 * it, through cb.
 */
int
envmodel_refs(struct env_model *m, const char *id,
    void (*cb)(const char *, const char **, size_t, void *), void *arg)
{
	struct env_svc	*s;
	const char	**names = NULL, **keys = NULL;
	size_t		 nnames = 0, max = 0, i, j, k, nkeys;

	if ((s = svc_find_id(m, id)) == NULL)
		return (ST_OK);
	for (i = 0; i < s->nvars; i++)
		max += s->vars[i].nrefs;
	if ((names = calloc(max + 1, sizeof(*names))) == NULL ||
	    (keys = calloc(s->nvars + 1, sizeof(*keys))) == NULL) {
		free(names);
		log_warn("%s", __func__);
		return (ST_ERROR);
	}
	for (i = 0; i < s->nvars; i++)
		for (j = 0; j < s->vars[i].nrefs; j++) {
			for (k = 0; k < nnames; k++)
				if (strcmp(names[k], s->vars[i].refs[j]) == 0)
					break;
			if (k == nnames)
				names[nnames++] = s->vars[i].refs[j];
		}
	for (k = 0; k < nnames; k++) {
		nkeys = 0;
		for (i = 0; i < s->nvars; i++)
			for (j = 0; j < s->vars[i].nrefs; j++)
				if (strcmp(s->vars[i].refs[j], names[k]) == 0) {
					keys[nkeys++] = s->vars[i].key;
					break;
				}
		cb(names[k], keys, nkeys, arg);
	}
	free(names);
	free(keys);
	return (ST_OK);
}

/* Does service id (or a staged create of that temp id) still exist? */
int
envmodel_has(struct env_model *m, const char *id)
{
	return (svc_find_id(m, id) != NULL);
}

/*
 * Rewrite every ${{from.FIELD}} in value to ${{to.FIELD}}: a new string
 * in *out, or NULL when nothing changed.  -1 without memory.
 */
int
envref_rename(const char *value, const char *from, const char *to, char **out)
{
	struct sbuf	 b = { 0 };
	const char	*p, *q, *name, *field;
	size_t		 n, namelen, fieldlen;
	int		 changed = 0;

	*out = NULL;
	for (p = value; *p != '\0'; p = q) {
		if ((q = strstr(p, "${{")) == NULL)
			q = p + strlen(p);
		if (sbuf_add(&b, p, q - p) != 0)
			goto fail;
		if (*q == '\0')
			break;
		n = envref_parse(q, &name, &namelen, &field, &fieldlen);
		if (n == 0 || namelen != strlen(from) ||
		    strncmp(name, from, namelen) != 0) {
			n = n == 0 ? 3 : n;
			if (sbuf_add(&b, q, n) != 0)
				goto fail;
		} else {
			if (sbuf_add(&b, "${{", 3) != 0 ||
			    sbuf_add(&b, to, strlen(to)) != 0 ||
			    sbuf_add(&b, ".", 1) != 0 ||
			    sbuf_add(&b, field, fieldlen) != 0 ||
			    sbuf_add(&b, "}}", 2) != 0)
				goto fail;
			changed = 1;
		}
		q += n;
	}
	if (!changed) {
		sbuf_free(&b);
		return (0);
	}
	if (b.p == NULL && sbuf_add(&b, "", 0) != 0)
		goto fail;
	*out = b.p;
	return (0);
fail:
	sbuf_free(&b);
	return (-1);
}

/* What service id's first container port will be (a new deployment). */
void
envmodel_set_port(struct env_model *m, const char *id, int port)
{
	struct env_svc	*s;

	if ((s = svc_find_id(m, id)) != NULL && port > 0) {
		s->port = port;
		/* Resolved values may have used the old one. */
		m->merged = 0;
	}
}
