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
	KEYWORD,
};

struct token {
	enum token_type		 type;
	const char		*keyword;
	int			 value;
	const struct token	*next;
};

static const struct token t_log[];

static const struct token t_main[] = {
	{ KEYWORD,	"log",		NONE,		t_log },
	{ KEYWORD,	"reload",	RELOAD,		NULL },
	{ KEYWORD,	"status",	STATUS,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_log[] = {
	{ KEYWORD,	"brief",	LOG_BRIEF,	NULL },
	{ KEYWORD,	"verbose",	LOG_VERBOSE,	NULL },
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
	while (argc >= 0) {
		if ((match = match_token(argc > 0 ? argv[0] : NULL,
		    table)) == NULL) {
			fprintf(stderr, "valid commands/args:\n");
			show_valid_args(table);
			return (NULL);
		}
		argc--;
		argv++;
		if (match->type == ENDTOKEN || match->next == NULL)
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
		if (word == NULL)
			continue;
		if (strncmp(word, table[i].keyword, strlen(word)) == 0 &&
		    *word != '\0') {
			match++;
			t = &table[i];
			/* An exact match wins over longer keywords. */
			if (strlen(word) == strlen(table[i].keyword)) {
				match = 1;
				break;
			}
		}
	}
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

	for (i = 0; table[i].type != ENDTOKEN; i++)
		fprintf(stderr, "  %s\n", table[i].keyword);
}
