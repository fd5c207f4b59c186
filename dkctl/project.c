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

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readpassphrase.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "compat.h"
#include "dkctl.h"
#include "ops.h"

/*
 * What a project holds: its services, their deployments and containers,
 * env vars and the staged changes.  These are the ops of the HTTP API,
 * asked for over the control socket, where the master also takes a
 * project's slug or name and a service's name.  Some commands take more
 * than one request, on one connection.  With -j, the answer of the
 * request that does the work is printed as the API gives it.
 */

#define LIST_MAX	100	/* the master's cap on a page */

/* PROJECT[/SERVICE | /@GROUP] of the command line. */
struct target {
	char		*project;	/* id, slug or name */
	char		*service;	/* id or name; NULL: none */
	char		*group;		/* group node id; NULL: none */
	char		 pid[64];	/* the project's id, once known */
};

/* What turns ids into names for people. */
struct names {
	yajl_val	 services;	/* "data" of a service list */
	yajl_val	 log;		/* "data" of the pending log */
	const char	*sid;		/* one service known already */
	const char	*sname;
};

/* An env var key in one scope, given the applied vars and the log. */
struct env_state {
	const char	*applied_id;	/* applied and not staged to go */
	int		 removing;	/* applied, staged for removal */
	const char	*staged_id;	/* pending change creating it */
	const char	*staged_seq;
};

static struct target	 tg;
static char		*env_key, *env_value;

static void	 target_split(const char *, int);
static const char *project_ref(void);
static void	 learn_pid(const char *);
static void	 read_value(void);
static size_t	 data_len(yajl_val);
static yajl_val	 data_at(yajl_val, size_t);
static void	 page_note(yajl_val);
static void	 call_ok(enum api_op, struct op_args *, struct reply *);
static void	 service_get(struct reply *);
static void	 services_list(struct reply *);
static const char *service_name(const struct names *, const char *);
static const char *temp_name(const struct names *, const char *);
static void	 append(char *, size_t, const char *);
static void	 pending_row(struct table *, yajl_val, const struct names *);
static void	 staged_print(struct reply *, const struct names *);
static int	 show_services(void);
static int	 show_deployments(void);
static int	 show_containers(void);
static void	 pending_list(struct reply *);
static int	 pending(void);
static void	 ids_print(const char *, yajl_val, int, const struct names *);
static int	 apply(void);
static int	 discard(void);
static enum api_op env_op(enum api_op, enum api_op, enum api_op);
static void	 env_scope_args(struct op_args *, int, int);
static void	 env_list_call(struct reply *);
static void	 env_find(yajl_val, yajl_val, const char *,
		    struct env_state *);
static int	 env_list(void);
static void	 env_load(struct reply *, struct reply *, struct reply *,
		    struct names *, struct env_state *);
static void	 withdraw(const char *);
static int	 env_set(void);
static void	 ids_json(const char *);
static int	 env_unset(void);
static int	 rollback(struct parse_result *);

static const char *pending_head[] = { "SEQ", "OP", "TARGET", "SUMMARY" };

/*
 * Everything that needs the user, or can be refused without the daemon,
 * happens before dkctl connects.
 */
void
project_prepare(struct parse_result *res)
{
	struct op_args	 a;
	char		*eq;

	switch (res->action) {
	case SHOW_DEPLOYMENTS:
	case SHOW_CONTAINERS:
	case ROLLBACK:
		target_split(res->args[0], 1);
		break;
	case ENV_LIST:
	case ENV_SET:
	case ENV_UNSET:
		target_split(res->args[0], 0);
		break;
	default:
		target_split(res->args[0], -1);
		break;
	}
	if (res->action == ENV_SET) {
		if ((env_key = strdup(res->args[1])) == NULL)
			err(1, "strdup");
		if ((eq = strchr(env_key, '=')) != NULL) {
			*eq = '\0';
			if ((env_value = strdup(eq + 1)) == NULL)
				err(1, "strdup");
			/* Out of the process list as soon as can be. */
			eq = strchr(res->args[1], '=');
			explicit_bzero(eq + 1, strlen(eq + 1));
		} else
			read_value();
		memset(&a, 0, sizeof(a));
		arg_set(&a, ENV_KEY, env_key);
		arg_set(&a, ENV_VALUE, env_value);
		args_check(OP_ENV_PROJECT_CREATE, &a);
		op_args_clear(&a);
	}
	if (res->action == ENV_UNSET && (env_key = strdup(res->args[1])) ==
	    NULL)
		err(1, "strdup");
	if (env_key != NULL && *env_key == '\0')
		errx(1, "the key of an env var cannot be empty");
}

int
project_run(struct parse_result *res)
{
	switch (res->action) {
	case SHOW_SERVICES:
		return (show_services());
	case SHOW_DEPLOYMENTS:
		return (show_deployments());
	case SHOW_CONTAINERS:
		return (show_containers());
	case PENDING:
		return (pending());
	case APPLY:
		return (apply());
	case DISCARD:
		return (discard());
	case ENV_LIST:
		return (env_list());
	case ENV_SET:
		return (env_set());
	case ENV_UNSET:
		return (env_unset());
	case ROLLBACK:
		return (rollback(res));
	default:
		errx(1, "no such request");
	}
}

/*
 * PROJECT/SERVICE at the last slash, so that a project name may have
 * one; want: 1 a service is needed, 0 it may be there (or @GROUP), -1
 * the argument is the project only.
 */
static void
target_split(const char *arg, int want)
{
	char	*slash;

	memset(&tg, 0, sizeof(tg));
	if ((tg.project = strdup(arg)) == NULL)
		err(1, "strdup");
	if (want == -1)
		return;
	if ((slash = strrchr(tg.project, '/')) == NULL) {
		if (want == 1)
			errx(1, "%s: expected PROJECT/SERVICE", arg);
		return;
	}
	*slash++ = '\0';
	if (*tg.project == '\0' || *slash == '\0')
		errx(1, "%s: expected PROJECT/%s", arg, want == 1 ? "SERVICE" :
		    "SERVICE or PROJECT/@GROUP");
	if (want == 0 && *slash == '@') {
		if (slash[1] == '\0')
			errx(1, "%s: expected PROJECT/@GROUP", arg);
		tg.group = slash + 1;
	} else
		tg.service = slash;
}

/* The project as the next request names it: its id once known. */
static const char *
project_ref(void)
{
	return (tg.pid[0] != '\0' ? tg.pid : tg.project);
}

static void
learn_pid(const char *id)
{
	if (id != NULL && *id != '\0' && tg.pid[0] == '\0')
		strlcpy(tg.pid, id, sizeof(tg.pid));
}

/*
 * The value of "env set KEY" without "=VALUE": from the terminal, not
 * echoed, or all of standard input less one final newline.  Either way
 * it stays out of the process list and the shell's history.
 */
static void
read_value(void)
{
	size_t	 max = 65536 + 2, len = 0, n;

	if ((env_value = malloc(max + 1)) == NULL)
		err(1, "malloc");
	if (isatty(STDIN_FILENO)) {
		if (readpassphrase("Value: ", env_value, max + 1,
		    RPP_REQUIRE_TTY) == NULL)
			errx(1, "cannot read the value");
		return;
	}
	while (len < max && (n = fread(env_value + len, 1, max - len,
	    stdin)) > 0)
		len += n;
	if (ferror(stdin))
		err(1, "standard input");
	env_value[len] = '\0';
	if (strlen(env_value) != len)
		errx(1, "the value contains a NUL byte");
	if (len > 0 && env_value[len - 1] == '\n')
		env_value[--len] = '\0';
	if (len > 0 && env_value[len - 1] == '\r')
		env_value[--len] = '\0';
}

static size_t
data_len(yajl_val v)
{
	yajl_val	 d;

	if ((d = json_get(v, "data", yajl_t_array)) == NULL)
		return (0);
	return (YAJL_GET_ARRAY(d)->len);
}

static yajl_val
data_at(yajl_val v, size_t i)
{
	return (YAJL_GET_ARRAY(json_get(v, "data", yajl_t_array))->values[i]);
}

/* A page that is not all there is: say so, beside the table. */
static void
page_note(yajl_val v)
{
	yajl_val	 t;
	long long	 total;

	if ((t = json_get(v, "total_count", yajl_t_number)) == NULL ||
	    !YAJL_IS_INTEGER(t))
		return;
	total = YAJL_GET_INTEGER(t);
	if (total > (long long)data_len(v))
		fprintf(stderr, "(%zu of %lld shown)\n", data_len(v), total);
}

/* A request that must succeed; the daemon's reason ends dkctl. */
static void
call_ok(enum api_op op, struct op_args *a, struct reply *rep)
{
	ctl_call(op, a, rep);
	op_args_clear(a);
	if (rep->status >= 400)
		reply_fail(rep);
}

/* The service of the target, which must be there. */
static void
service_get(struct reply *rep)
{
	struct op_args	 a;

	memset(&a, 0, sizeof(a));
	arg_set(&a, SERVICE_PID, project_ref());
	arg_set(&a, SERVICE_SID, tg.service);
	call_ok(OP_SERVICES_GET, &a, rep);
	learn_pid(json_str(rep->v, "project_id"));
}

static void
services_list(struct reply *rep)
{
	struct op_args	 a;

	memset(&a, 0, sizeof(a));
	arg_set(&a, SERVICE_LIST_PID, project_ref());
	a.present[SERVICE_LIST_LIMIT] = 1;
	a.num[SERVICE_LIST_LIMIT] = LIST_MAX;
	call_ok(OP_SERVICES_LIST, &a, rep);
}

static const char *
service_name(const struct names *nm, const char *id)
{
	yajl_val	 s;
	const char	*sid, *name;
	size_t		 i;

	if (id == NULL)
		return ("?");
	if (nm->sid != NULL && strcmp(nm->sid, id) == 0)
		return (nm->sname);
	for (i = 0; nm->services != NULL &&
	    i < YAJL_GET_ARRAY(nm->services)->len; i++) {
		s = YAJL_GET_ARRAY(nm->services)->values[i];
		if ((sid = json_str(s, "id")) != NULL && strcmp(sid, id) == 0 &&
		    (name = json_str(s, "name")) != NULL)
			return (name);
	}
	return (id);
}

/* The name of the service a staged creation will make. */
static const char *
temp_name(const struct names *nm, const char *temp)
{
	yajl_val	 e;
	const char	*op, *t, *name;
	size_t		 i;

	for (i = 0; nm->log != NULL && i < YAJL_GET_ARRAY(nm->log)->len;
	    i++) {
		e = YAJL_GET_ARRAY(nm->log)->values[i];
		if ((op = json_str(e, "op")) != NULL &&
		    strcmp(op, "service.create") == 0 &&
		    (t = json_str(e, "target_temp_id")) != NULL &&
		    strcmp(t, temp) == 0 &&
		    (name = json_str(json_get(e, "payload", yajl_t_object),
		    "name")) != NULL)
			return (name);
	}
	return (temp);
}

static void
append(char *buf, size_t len, const char *s)
{
	if (*buf != '\0')
		strlcat(buf, ", ", len);
	strlcat(buf, s, len);
}

/*
 * One staged change as a row: seq, op, what it acts on and what it does.
 * Env var values are never shown: the key says enough.
 */
static void
pending_row(struct table *t, yajl_val e, const struct names *nm)
{
	yajl_val	 pl, arr;
	const char	*op, *seq, *tid, *scope, *sid, *key, *name;
	char		 target[512], rename[512], sum[2048], num[64];

	op = json_str(e, "op");
	tid = json_str(e, "target_id");
	pl = json_get(e, "payload", yajl_t_object);
	seq = (arr = json_get(e, "seq", yajl_t_number)) != NULL ?
	    YAJL_GET_NUMBER(arr) : "?";
	if (op == NULL)
		op = "?";
	target[0] = sum[0] = '\0';
	key = json_str(pl, "key");
	name = json_str(pl, "name");
	if (strcmp(op, "project.update") == 0) {
		strlcpy(target, "project", sizeof(target));
		if (name != NULL)
			(void)snprintf(sum, sizeof(sum), "rename to \"%s\"",
			    name);
	} else if (strcmp(op, "service.create") == 0) {
		(void)snprintf(target, sizeof(target), "service %s",
		    name != NULL ? name : "?");
		(void)snprintf(sum, sizeof(sum), "image %s",
		    json_str(pl, "image") != NULL ? json_str(pl, "image") :
		    "?");
		if ((arr = json_get(pl, "ports", yajl_t_array)) != NULL &&
		    YAJL_GET_ARRAY(arr)->len > 0) {
			(void)snprintf(num, sizeof(num), "%zu port%s",
			    YAJL_GET_ARRAY(arr)->len,
			    YAJL_GET_ARRAY(arr)->len == 1 ? "" : "s");
			append(sum, sizeof(sum), num);
		}
		if ((arr = json_get(pl, "env_vars", yajl_t_array)) != NULL &&
		    YAJL_GET_ARRAY(arr)->len > 0) {
			(void)snprintf(num, sizeof(num), "%zu env var%s",
			    YAJL_GET_ARRAY(arr)->len,
			    YAJL_GET_ARRAY(arr)->len == 1 ? "" : "s");
			append(sum, sizeof(sum), num);
		}
	} else if (strncmp(op, "service.", 8) == 0) {
		(void)snprintf(target, sizeof(target), "service %s",
		    service_name(nm, tid));
		if (strcmp(op, "service.delete") == 0)
			strlcpy(sum, "delete", sizeof(sum));
		if (name != NULL) {
			(void)snprintf(rename, sizeof(rename),
			    "rename to \"%s\"", name);
			append(sum, sizeof(sum), rename);
		}
		if (json_get(pl, "icon_url", yajl_t_any) != NULL)
			append(sum, sizeof(sum), "new icon");
		if (json_get(pl, "reparented", yajl_t_true) != NULL)
			append(sum, sizeof(sum), "moved on the canvas");
	} else if (strncmp(op, "env_var.", 8) == 0) {
		scope = json_str(pl, "scope");
		/* create: the owner is the target; else it is in the payload */
		sid = strcmp(op, "env_var.create") == 0 ? tid :
		    json_str(pl, "scope_id");
		if (scope == NULL)
			strlcpy(target, "?", sizeof(target));
		else if (strcmp(scope, "project") == 0)
			strlcpy(target, "project", sizeof(target));
		else if (strcmp(scope, "service") == 0 && sid != NULL)
			(void)snprintf(target, sizeof(target), "service %s",
			    service_name(nm, sid));
		else if (strcmp(scope, "service") == 0 &&
		    json_str(e, "parent_temp_id") != NULL)
			(void)snprintf(target, sizeof(target), "service %s",
			    temp_name(nm, json_str(e, "parent_temp_id")));
		else
			(void)snprintf(target, sizeof(target), "%s %s", scope,
			    sid != NULL ? sid : "?");
		(void)snprintf(sum, sizeof(sum), "%s %s",
		    strcmp(op, "env_var.create") == 0 ? "add" :
		    strcmp(op, "env_var.update") == 0 ? "change" : "remove",
		    key != NULL ? key : "?");
	} else
		(void)snprintf(target, sizeof(target), "%s %s",
		    json_str(e, "target_type") != NULL ?
		    json_str(e, "target_type") : "?", tid != NULL ? tid : "");
	table_add(t, seq, op, target, sum[0] != '\0' ? sum : NULL);
}

/* The change a command staged, as the API gave it or as a row. */
static void
staged_print(struct reply *rep, const struct names *nm)
{
	struct table	 t;

	if (json_output) {
		reply_print_json(rep);
		return;
	}
	table_init(&t, pending_head, 4);
	pending_row(&t, rep->v, nm);
	table_print(&t);
}

static int
show_services(void)
{
	static const char *head[] = { "NAME", "STATUS", "IMAGE",
	    "ACTIVE DEPLOYMENT", "ID" };
	struct table	 t;
	struct reply	 rep;
	yajl_val	 s;
	size_t		 i;

	services_list(&rep);
	if (json_output) {
		reply_print_json(&rep);
		reply_free(&rep);
		return (0);
	}
	table_init(&t, head, 5);
	for (i = 0; i < data_len(rep.v); i++) {
		s = data_at(rep.v, i);
		table_add(&t, json_str(s, "name"), json_str(s, "status"),
		    json_str(json_get(s, "active_deployment", yajl_t_object),
		    "image"), json_str(s, "active_deployment_id"),
		    json_str(s, "id"));
	}
	table_print(&t);
	page_note(rep.v);
	reply_free(&rep);
	return (0);
}

static int
show_deployments(void)
{
	static const char *head[] = { "ID", "STATUS", "ACTIVE", "IMAGE",
	    "REPLICAS", "CREATED", "REASON" };
	struct op_args	 a;
	struct table	 t;
	struct reply	 svc, rep;
	yajl_val	 d, n;
	const char	*active = NULL, *id;
	size_t		 i;

	memset(&svc, 0, sizeof(svc));
	if (!json_output) {
		service_get(&svc);
		active = json_str(svc.v, "active_deployment_id");
	}
	memset(&a, 0, sizeof(a));
	arg_set(&a, DEPLOYS_PID, project_ref());
	arg_set(&a, DEPLOYS_SID, svc.v != NULL && json_str(svc.v, "id") !=
	    NULL ? json_str(svc.v, "id") : tg.service);
	a.present[DEPLOYS_LIMIT] = 1;
	a.num[DEPLOYS_LIMIT] = LIST_MAX;
	call_ok(OP_DEPLOYMENTS_LIST, &a, &rep);
	if (json_output) {
		reply_print_json(&rep);
		reply_free(&rep);
		return (0);
	}
	table_init(&t, head, 7);
	for (i = 0; i < data_len(rep.v); i++) {
		d = data_at(rep.v, i);
		id = json_str(d, "id");
		n = json_get(d, "replicas", yajl_t_number);
		table_add(&t, id, json_str(d, "status"), active != NULL &&
		    id != NULL && strcmp(active, id) == 0 ? "yes" : "no",
		    json_str(d, "image"), n != NULL ? YAJL_GET_NUMBER(n) :
		    NULL, json_str(d, "created_at"),
		    json_str(d, "failure_reason"));
	}
	table_print(&t);
	page_note(rep.v);
	reply_free(&rep);
	reply_free(&svc);
	return (0);
}

static int
show_containers(void)
{
	static const char *head[] = { "ID", "STATUS", "DEPLOYMENT",
	    "DOCKER ID", "CREATED" };
	struct op_args	 a;
	struct table	 t;
	struct reply	 rep;
	yajl_val	 c;
	const char	*docker;
	char		 shortid[13];
	size_t		 i;

	memset(&a, 0, sizeof(a));
	arg_set(&a, CONTAINERS_PID, project_ref());
	arg_set(&a, CONTAINERS_SID, tg.service);
	arg_set(&a, CONTAINERS_LIMIT, "100");
	call_ok(OP_CONTAINERS_LIST, &a, &rep);
	if (json_output) {
		reply_print_json(&rep);
		reply_free(&rep);
		return (0);
	}
	table_init(&t, head, 5);
	for (i = 0; i < data_len(rep.v); i++) {
		c = data_at(rep.v, i);
		/* As docker ps shows it. */
		if ((docker = json_str(c, "docker_container_id")) != NULL) {
			strlcpy(shortid, docker, sizeof(shortid));
			docker = shortid[0] != '\0' ? shortid : NULL;
		}
		table_add(&t, json_str(c, "id"), json_str(c, "status"),
		    json_str(c, "deployment_id"), docker,
		    json_str(c, "created_at"));
	}
	table_print(&t);
	page_note(rep.v);
	reply_free(&rep);
	return (0);
}

/* The pending log of the project, which must be there. */
static void
pending_list(struct reply *rep)
{
	struct op_args	 a;

	memset(&a, 0, sizeof(a));
	arg_set(&a, PID, project_ref());
	call_ok(OP_PENDING_LIST, &a, rep);
	if (data_len(rep->v) > 0)
		learn_pid(json_str(data_at(rep->v, 0), "project_id"));
}

static int
pending(void)
{
	struct names	 nm;
	struct table	 t;
	struct reply	 rep, svcs;
	const char	*op;
	size_t		 i;
	int		 need = 0;

	pending_list(&rep);
	if (json_output) {
		reply_print_json(&rep);
		reply_free(&rep);
		return (0);
	}
	memset(&nm, 0, sizeof(nm));
	memset(&svcs, 0, sizeof(svcs));
	nm.log = json_get(rep.v, "data", yajl_t_array);
	for (i = 0; i < data_len(rep.v); i++)
		if ((op = json_str(data_at(rep.v, i), "op")) != NULL &&
		    strcmp(op, "service.create") != 0 &&
		    strcmp(op, "project.update") != 0)
			need = 1;
	/* Names for the ids of services. */
	if (need) {
		services_list(&svcs);
		nm.services = json_get(svcs.v, "data", yajl_t_array);
	}
	table_init(&t, pending_head, 4);
	for (i = 0; i < data_len(rep.v); i++)
		pending_row(&t, data_at(rep.v, i), &nm);
	table_print(&t);
	reply_free(&svcs);
	reply_free(&rep);
	return (0);
}

/* Names of the services of ids, a line. */
static void
ids_print(const char *label, yajl_val ids, int values,
    const struct names *nm)
{
	yajl_val	 v;
	size_t		 i, n;
	const char	*id;

	n = ids == NULL ? 0 : YAJL_IS_ARRAY(ids) ?
	    YAJL_GET_ARRAY(ids)->len : YAJL_GET_OBJECT(ids)->len;
	printf("%s:", label);
	if (n == 0)
		printf(" none");
	for (i = 0; i < n; i++) {
		v = values ? YAJL_GET_OBJECT(ids)->values[i] :
		    YAJL_GET_ARRAY(ids)->values[i];
		id = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "?";
		printf("%s %s", i > 0 ? "," : "", service_name(nm, id));
	}
	printf("\n");
}

static int
apply(void)
{
	struct op_args	 a;
	struct names	 nm;
	struct reply	 log, rep, svcs;
	yajl_val	 created, redeployed, deps, n;

	/* The id first: an Apply may rename the project. */
	pending_list(&log);
	reply_free(&log);
	memset(&a, 0, sizeof(a));
	arg_set(&a, PID, project_ref());
	call_ok(OP_PROJECTS_DEPLOY, &a, &rep);
	if (json_output) {
		reply_print_json(&rep);
		reply_free(&rep);
		return (0);
	}
	created = json_get(rep.v, "temp_id_to_service_id", yajl_t_object);
	redeployed = json_get(rep.v, "redeployed_service_ids", yajl_t_array);
	deps = json_get(rep.v, "created_deployments", yajl_t_array);
	n = json_get(rep.v, "applied_count", yajl_t_number);
	memset(&nm, 0, sizeof(nm));
	memset(&svcs, 0, sizeof(svcs));
	if ((created != NULL && YAJL_GET_OBJECT(created)->len > 0) ||
	    (redeployed != NULL && YAJL_GET_ARRAY(redeployed)->len > 0)) {
		services_list(&svcs);
		nm.services = json_get(svcs.v, "data", yajl_t_array);
	}
	printf("%s change%s applied\n", n != NULL ? YAJL_GET_NUMBER(n) : "?",
	    n != NULL && YAJL_IS_INTEGER(n) && YAJL_GET_INTEGER(n) == 1 ?
	    "" : "s");
	ids_print("services created", created, 1, &nm);
	ids_print("services redeployed", redeployed, 0, &nm);
	printf("deployments created: %zu\n", deps != NULL ?
	    YAJL_GET_ARRAY(deps)->len : 0);
	reply_free(&svcs);
	reply_free(&rep);
	return (0);
}

static int
discard(void)
{
	struct op_args	 a;
	struct reply	 rep;

	memset(&a, 0, sizeof(a));
	arg_set(&a, PID, project_ref());
	call_ok(OP_PENDING_DISCARD, &a, &rep);
	if (json_output)
		reply_print_json(&rep);
	else
		printf("pending changes of %s discarded\n", tg.project);
	reply_free(&rep);
	return (0);
}

/* The op of the target's scope: project, service or group. */
static enum api_op
env_op(enum api_op project, enum api_op service, enum api_op group)
{
	if (tg.group != NULL)
		return (group);
	if (tg.service != NULL)
		return (service);
	return (project);
}

/* The fields that name the scope: the project, and the owner. */
static void
env_scope_args(struct op_args *a, int pid, int owner)
{
	arg_set(a, pid, project_ref());
	if (tg.group != NULL)
		arg_set(a, owner, tg.group);
	else if (tg.service != NULL)
		arg_set(a, owner, tg.service);
}

static void
env_list_call(struct reply *rep)
{
	struct op_args	 a;

	memset(&a, 0, sizeof(a));
	if (tg.service == NULL && tg.group == NULL)
		arg_set(&a, PID, project_ref());
	else
		env_scope_args(&a, ENVO_PID, ENVO_OWNER);
	call_ok(env_op(OP_ENV_PROJECT_LIST, OP_ENV_SERVICE_LIST,
	    OP_ENV_GROUP_LIST), &a, rep);
}

/*
 * Where key stands in the scope whose owner is owner (NULL: the project)
 * once the log is replayed over the applied vars, as the master sees it.
 */
static void
env_find(yajl_val vars, yajl_val log, const char *owner,
    struct env_state *st)
{
	yajl_val	 e, pl;
	const char	*k, *op, *scope, *tid, *want;
	size_t		 i;

	memset(st, 0, sizeof(*st));
	want = tg.group != NULL ? "group" : tg.service != NULL ? "service" :
	    "project";
	for (i = 0; i < data_len(vars); i++)
		if ((k = json_str(data_at(vars, i), "key")) != NULL &&
		    strcmp(k, env_key) == 0)
			st->applied_id = json_str(data_at(vars, i), "id");
	for (i = 0; i < data_len(log); i++) {
		e = data_at(log, i);
		pl = json_get(e, "payload", yajl_t_object);
		op = json_str(e, "op");
		tid = json_str(e, "target_id");
		if (op == NULL || tid == NULL)
			continue;
		if (strcmp(op, "env_var.delete") == 0 &&
		    st->applied_id != NULL &&
		    strcmp(tid, st->applied_id) == 0) {
			st->applied_id = NULL;
			st->removing = 1;
		}
		if (strcmp(op, "env_var.create") == 0 &&
		    (scope = json_str(pl, "scope")) != NULL &&
		    strcmp(scope, want) == 0 &&
		    (k = json_str(pl, "key")) != NULL &&
		    strcmp(k, env_key) == 0 &&
		    (owner == NULL || strcmp(tid, owner) == 0)) {
			st->staged_id = json_str(e, "id");
			st->staged_seq = json_get(e, "seq", yajl_t_number) !=
			    NULL ? YAJL_GET_NUMBER(json_get(e, "seq",
			    yajl_t_number)) : "?";
		}
	}
}

static int
env_list(void)
{
	static const char *head[] = { "KEY", "VALUE", "UPDATED", "ID" };
	struct table	 t;
	struct reply	 rep;
	yajl_val	 e;
	const char	*val;
	size_t		 i;

	env_list_call(&rep);
	if (json_output) {
		reply_print_json(&rep);
		reply_free(&rep);
		return (0);
	}
	table_init(&t, head, 4);
	for (i = 0; i < data_len(rep.v); i++) {
		e = data_at(rep.v, i);
		val = json_str(e, "value");
		table_add(&t, json_str(e, "key"), val != NULL && *val == '\0' ?
		    "\"\"" : val, json_str(e, "updated_at"), json_str(e, "id"));
	}
	table_print(&t);
	reply_free(&rep);
	return (0);
}

/*
 * What env set and unset need to know first: the service (its id, for
 * the log, and its name), the applied vars of the scope and the log.
 */
static void
env_load(struct reply *svc, struct reply *vars, struct reply *log,
    struct names *nm, struct env_state *st)
{
	const char	*owner = NULL;

	memset(svc, 0, sizeof(*svc));
	memset(nm, 0, sizeof(*nm));
	if (tg.service != NULL) {
		service_get(svc);
		owner = nm->sid = json_str(svc->v, "id");
		nm->sname = json_str(svc->v, "name");
		if (owner == NULL)
			errx(1, "malformed reply from dkd");
		/* Its id from now on, as its name may change. */
		tg.service = strdup(owner);
		if (tg.service == NULL)
			err(1, "strdup");
	} else if (tg.group != NULL)
		owner = tg.group;
	env_list_call(vars);
	pending_list(log);
	nm->log = json_get(log->v, "data", yajl_t_array);
	env_find(vars->v, log->v, owner, st);
}

/* Take back a staged change. */
static void
withdraw(const char *id)
{
	struct op_args	 a;
	struct reply	 rep;

	memset(&a, 0, sizeof(a));
	arg_set(&a, PENDING_PID, project_ref());
	arg_set(&a, PENDING_ID, id);
	ctl_call(OP_PENDING_REMOVE, &a, &rep);
	op_args_clear(&a);
	if (rep.status >= 400)
		reply_fail(&rep);
	reply_free(&rep);
}

/*
 * Stage KEY=VALUE: a change of the applied var, or a new one.  A key
 * that is only staged for creation has that change replaced, so that
 * the last value set is the one Apply uses.
 */
static int
env_set(void)
{
	struct op_args		 a;
	struct names		 nm;
	struct env_state	 st;
	struct reply		 svc, vars, log, rep;
	enum api_op		 op;

	env_load(&svc, &vars, &log, &nm, &st);
	memset(&a, 0, sizeof(a));
	if (st.applied_id != NULL) {
		op = env_op(OP_ENV_PROJECT_UPDATE, OP_ENV_SERVICE_UPDATE,
		    OP_ENV_GROUP_UPDATE);
		if (op == OP_ENV_PROJECT_UPDATE) {
			arg_set(&a, ENV_ITEM_PID, project_ref());
			arg_set(&a, ENV_ITEM_ID, st.applied_id);
			arg_set(&a, ENV_ITEM_VALUE, env_value);
		} else {
			env_scope_args(&a, ENVO_ITEM_PID, ENVO_ITEM_OWNER);
			arg_set(&a, ENVO_ITEM_ID, st.applied_id);
			arg_set(&a, ENVO_ITEM_VALUE, env_value);
		}
	} else {
		if (st.staged_id != NULL)
			withdraw(st.staged_id);
		op = env_op(OP_ENV_PROJECT_CREATE, OP_ENV_SERVICE_CREATE,
		    OP_ENV_GROUP_CREATE);
		if (op == OP_ENV_PROJECT_CREATE) {
			arg_set(&a, ENV_PID, project_ref());
			arg_set(&a, ENV_KEY, env_key);
			arg_set(&a, ENV_VALUE, env_value);
		} else {
			env_scope_args(&a, ENVO_PID, ENVO_OWNER);
			arg_set(&a, ENVO_KEY, env_key);
			arg_set(&a, ENVO_VALUE, env_value);
		}
	}
	explicit_bzero(env_value, strlen(env_value));
	ctl_call(op, &a, &rep);
	op_args_clear(&a);
	if (rep.status >= 400) {
		if (st.staged_id != NULL)
			fprintf(stderr, "the earlier staged change of %s "
			    "(seq %s) was withdrawn\n", env_key,
			    st.staged_seq);
		reply_fail(&rep);
	}
	staged_print(&rep, &nm);
	reply_free(&rep);
	reply_free(&log);
	reply_free(&vars);
	reply_free(&svc);
	return (0);
}

/* {"ids": [id]}, as the event pending-changes:removed has it. */
static void
ids_json(const char *id)
{
	const unsigned char	*buf;
	yajl_gen		 g;
	size_t			 len;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		err(1, "yajl_gen_alloc");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"ids", 3);
	yajl_gen_array_open(g);
	yajl_gen_string(g, (const unsigned char *)id, strlen(id));
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		fwrite(buf, 1, len, stdout);
	yajl_gen_free(g);
}

/*
 * Stage the removal of KEY; or, when it is only staged for creation,
 * take that change back.
 */
static int
env_unset(void)
{
	struct op_args		 a;
	struct names		 nm;
	struct env_state	 st;
	struct reply		 svc, vars, log, rep;
	enum api_op		 op;

	env_load(&svc, &vars, &log, &nm, &st);
	if (st.staged_id != NULL) {
		withdraw(st.staged_id);
		if (json_output)
			ids_json(st.staged_id);
		else
			printf("withdrew the staged creation of %s (seq %s)\n",
			    env_key, st.staged_seq);
		goto done;
	}
	if (st.applied_id == NULL && st.removing)
		errx(1, "%s is already staged for removal", env_key);
	if (st.applied_id == NULL)
		errx(1, "no such env var: %s", env_key);
	memset(&a, 0, sizeof(a));
	op = env_op(OP_ENV_PROJECT_DELETE, OP_ENV_SERVICE_DELETE,
	    OP_ENV_GROUP_DELETE);
	if (op == OP_ENV_PROJECT_DELETE) {
		arg_set(&a, ENV_ITEM_PID, project_ref());
		arg_set(&a, ENV_ITEM_ID, st.applied_id);
	} else {
		env_scope_args(&a, ENVO_ITEM_PID, ENVO_ITEM_OWNER);
		arg_set(&a, ENVO_ITEM_ID, st.applied_id);
	}
	call_ok(op, &a, &rep);
	staged_print(&rep, &nm);
	reply_free(&rep);
done:
	reply_free(&log);
	reply_free(&vars);
	reply_free(&svc);
	return (0);
}

static int
rollback(struct parse_result *res)
{
	struct op_args	 a;
	struct reply	 rep;

	memset(&a, 0, sizeof(a));
	arg_set(&a, ROLLBACK_PID, project_ref());
	arg_set(&a, ROLLBACK_SID, tg.service);
	arg_set(&a, ROLLBACK_DEPLOYMENT_ID, res->args[1]);
	call_ok(OP_SERVICES_ROLLBACK, &a, &rep);
	if (json_output)
		reply_print_json(&rep);
	else
		printf("service %s rolled back to deployment %s (status %s)\n",
		    json_str(rep.v, "name") != NULL ? json_str(rep.v, "name") :
		    tg.service, res->args[1], json_str(rep.v, "status") !=
		    NULL ? json_str(rep.v, "status") : "?");
	reply_free(&rep);
	return (0);
}
