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

#include "compat.h"
#include "dkctl.h"

/*
 * Command-line grammar as token tables, in the manner of relayctl:
 * every keyword may be shortened to a unique prefix.
 */

enum token_type {
	ENDTOKEN,
	NOTOKEN,	/* the command may end here */
	KEYWORD,
	ARGUMENT,	/* any word: an email, a name, an id */
};

struct token {
	enum token_type		 type;
	const char		*keyword;
	int			 value;
	const struct token	*next;
};

static const struct token t_log[];
static const struct token t_user[];
static const struct token t_apikey[];
static const struct token t_show[];
static const struct token t_user_add[];
static const struct token t_arg_role[];
static const struct token t_arg_email[];
static const struct token t_arg_id[];
static const struct token t_apikey_create[];
static const struct token t_opt_email[];
static const struct token t_opt_project[];
static const struct token t_arg_project[];
static const struct token t_arg_service[];
static const struct token t_env[];
static const struct token t_rollback[];

static const struct token t_main[] = {
	{ KEYWORD,	"apikey",	NONE,		t_apikey },
	{ KEYWORD,	"apply",	APPLY,		t_arg_project },
	{ KEYWORD,	"discard",	DISCARD,	t_arg_project },
	{ KEYWORD,	"env",		ENV_LIST,	t_env },
	{ KEYWORD,	"events",	EVENTS,		t_opt_project },
	{ KEYWORD,	"log",		NONE,		t_log },
	{ KEYWORD,	"pending",	PENDING,	t_arg_project },
	{ KEYWORD,	"reload",	RELOAD,		NULL },
	{ KEYWORD,	"rollback",	ROLLBACK,	t_rollback },
	{ KEYWORD,	"setup-token",	SETUP_TOKEN,	NULL },
	{ KEYWORD,	"show",		NONE,		t_show },
	{ KEYWORD,	"status",	STATUS,		NULL },
	{ KEYWORD,	"user",		NONE,		t_user },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_log[] = {
	{ KEYWORD,	"brief",	LOG_BRIEF,	NULL },
	{ KEYWORD,	"verbose",	LOG_VERBOSE,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_show[] = {
	{ KEYWORD,	"containers",	SHOW_CONTAINERS, t_arg_service },
	{ KEYWORD,	"deployments",	SHOW_DEPLOYMENTS, t_arg_service },
	{ KEYWORD,	"projects",	SHOW_PROJECTS,	NULL },
	{ KEYWORD,	"services",	SHOW_SERVICES,	t_arg_project },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_user[] = {
	{ KEYWORD,	"add",		USER_ADD,	t_user_add },
	{ KEYWORD,	"del",		USER_DEL,	t_arg_email },
	{ KEYWORD,	"list",		USER_LIST,	NULL },
	{ KEYWORD,	"passwd",	USER_PASSWD,	t_arg_email },
	{ KEYWORD,	"role",		USER_ROLE,	t_arg_role },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_apikey[] = {
	{ KEYWORD,	"create",	APIKEY_CREATE,	t_apikey_create },
	{ KEYWORD,	"del",		APIKEY_DEL,	t_arg_id },
	{ KEYWORD,	"list",		APIKEY_LIST,	t_opt_email },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

/* user add email name [role] */
static const struct token t_user_add_role[] = {
	{ NOTOKEN,	"",		NONE,		NULL },
	{ ARGUMENT,	"role",		NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};
static const struct token t_user_add_name[] = {
	{ ARGUMENT,	"name",		NONE,		t_user_add_role },
	{ ENDTOKEN,	"",		NONE,		NULL }
};
static const struct token t_user_add[] = {
	{ ARGUMENT,	"email",	NONE,		t_user_add_name },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

/* user role email role */
static const struct token t_role[] = {
	{ ARGUMENT,	"admin|member",	NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};
static const struct token t_arg_role[] = {
	{ ARGUMENT,	"email",	NONE,		t_role },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_arg_email[] = {
	{ ARGUMENT,	"email",	NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_opt_email[] = {
	{ NOTOKEN,	"",		NONE,		NULL },
	{ ARGUMENT,	"email",	NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_opt_project[] = {
	{ NOTOKEN,	"",		NONE,		NULL },
	{ ARGUMENT,	"project",	NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_arg_project[] = {
	{ ARGUMENT,	"project",	NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_arg_service[] = {
	{ ARGUMENT,	"project/service", NONE,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

/* env project[/service | /@group] [set key[=value] | unset key] */
static const struct token t_env_key[] = {
	{ ARGUMENT,	"key",		NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};
static const struct token t_env_keyvalue[] = {
	{ ARGUMENT,	"key[=value]",	NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};
static const struct token t_env_op[] = {
	{ NOTOKEN,	"",		NONE,		NULL },
	{ KEYWORD,	"set",		ENV_SET,	t_env_keyvalue },
	{ KEYWORD,	"unset",	ENV_UNSET,	t_env_key },
	{ ENDTOKEN,	"",		NONE,		NULL }
};
static const struct token t_env[] = {
	{ ARGUMENT,	"project[/service]", NONE,	t_env_op },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

/* rollback project/service deployment */
static const struct token t_rollback_id[] = {
	{ ARGUMENT,	"deployment",	NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};
static const struct token t_rollback[] = {
	{ ARGUMENT,	"project/service", NONE,	t_rollback_id },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_arg_id[] = {
	{ ARGUMENT,	"id",		NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

/* apikey create email description [expires] */
static const struct token t_apikey_expires[] = {
	{ NOTOKEN,	"",		NONE,		NULL },
	{ ARGUMENT,	"expires",	NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};
static const struct token t_apikey_desc[] = {
	{ ARGUMENT,	"description",	NONE,		t_apikey_expires },
	{ ENDTOKEN,	"",		NONE,		NULL }
};
static const struct token t_apikey_create[] = {
	{ ARGUMENT,	"email",	NONE,		t_apikey_desc },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static struct parse_result	 res;

static const struct token *match_token(const char *, const struct token *);
static void	show_valid_args(const struct token *);

struct parse_result *
parse(int argc, char *argv[])
{
	const struct token	*table = t_main;
	const struct token	*match;

	memset(&res, 0, sizeof(res));
	for (;;) {
		if ((match = match_token(argc > 0 ? argv[0] : NULL,
		    table)) == NULL) {
			fprintf(stderr, "valid commands/args:\n");
			show_valid_args(table);
			return (NULL);
		}
		if (match->type == NOTOKEN)
			break;
		argc--;
		argv++;
		if (match->next == NULL)
			break;
		table = match->next;
	}
	if (argc > 0) {
		fprintf(stderr, "superfluous argument: %s\n", argv[0]);
		return (NULL);
	}
	return (&res);
}

static const struct token *
match_token(const char *word, const struct token *table)
{
	const struct token	*t = NULL;
	size_t			 i, match = 0;

	for (i = 0; table[i].type != ENDTOKEN; i++) {
		switch (table[i].type) {
		case NOTOKEN:
			if (word == NULL || *word == '\0') {
				t = &table[i];
				match++;
			}
			break;
		case ARGUMENT:
			if (word != NULL && *word != '\0' &&
			    res.nargs < ARGS_MAX) {
				res.args[res.nargs++] = (char *)word;
				t = &table[i];
				match++;
			}
			break;
		case KEYWORD:
			if (word == NULL || *word == '\0' ||
			    strncmp(word, table[i].keyword, strlen(word)) != 0)
				break;
			match++;
			t = &table[i];
			/* An exact match wins over longer keywords. */
			if (strlen(word) == strlen(table[i].keyword)) {
				match = 1;
				goto done;
			}
			break;
		default:
			break;
		}
	}
done:
	if (match != 1) {
		if (word == NULL)
			fprintf(stderr, "missing argument:\n");
		else if (match > 1)
			fprintf(stderr, "ambiguous argument: %s\n", word);
		else
			fprintf(stderr, "unknown argument: %s\n", word);
		return (NULL);
	}
	if (t->value != NONE)
		res.action = t->value;
	return (t);
}

static void
show_valid_args(const struct token *table)
{
	size_t	 i;

	for (i = 0; table[i].type != ENDTOKEN; i++) {
		switch (table[i].type) {
		case NOTOKEN:
			fprintf(stderr, "  <cr>\n");
			break;
		case ARGUMENT:
			fprintf(stderr, "  <%s>\n", table[i].keyword);
			break;
		default:
			fprintf(stderr, "  %s\n", table[i].keyword);
			break;
		}
	}
}
