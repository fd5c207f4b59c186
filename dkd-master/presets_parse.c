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

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "presets.h"
#include "util.h"
#include "validate.h"

/*
 * The preset catalog's file format (data/presets.conf): blocks of
 * "preset ID { ... }" with one statement per line inside.  Whitespace
 * and newlines are free, '#' starts a comment, strings are quoted with
 * \" and \\ escapes.  Errors name the file and line.
 */

enum tok {
	T_EOF,
	T_WORD,
	T_STRING,
	T_LBRACE,
	T_RBRACE,
	T_ERROR,
};

struct lexer {
	const char	*p;
	const char	*end;
	const char	*name;
	int		 line;
	char		 text[PRESET_STR_MAX];
	char		*err;
	size_t		 errlen;
};

static int	lex_error(struct lexer *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));

static const char *gen_names[] = {
	[GEN_NONE] = "",
	[GEN_RANDOM_HEX_32] = "random_hex_32",
	[GEN_RANDOM_BASE64_24] = "random_base64_24",
	[GEN_PASSWORD_24] = "password_24",
};

static int
lex_error(struct lexer *lx, const char *fmt, ...)
{
	char	 msg[256];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)snprintf(lx->err, lx->errlen, "%s:%d: %s", lx->name, lx->line,
	    msg);
	return (-1);
}

static enum tok
lex(struct lexer *lx)
{
	size_t	 n = 0;
	char	 c;

	for (;;) {
		if (lx->p == lx->end)
			return (T_EOF);
		c = *lx->p;
		if (c == '\n')
			lx->line++;
		if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		if (!isspace((unsigned char)c))
			break;
		lx->p++;
	}
	c = *lx->p++;
	if (c == '{')
		return (T_LBRACE);
	if (c == '}')
		return (T_RBRACE);
	if (c == '"') {
		for (;;) {
			if (lx->p == lx->end || *lx->p == '\n') {
				lex_error(lx, "unterminated string");
				return (T_ERROR);
			}
			c = *lx->p++;
			if (c == '"')
				break;
			if (c == '\\') {
				if (lx->p == lx->end ||
				    (*lx->p != '"' && *lx->p != '\\')) {
					lex_error(lx, "bad escape in string");
					return (T_ERROR);
				}
				c = *lx->p++;
			}
			if ((unsigned char)c < 0x20) {
				lex_error(lx, "control character in string");
				return (T_ERROR);
			}
			if (n + 1 >= sizeof(lx->text)) {
				lex_error(lx, "string too long");
				return (T_ERROR);
			}
			lx->text[n++] = c;
		}
		lx->text[n] = '\0';
		return (T_STRING);
	}
	lx->p--;
	while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) ||
	    strchr("_-./:", *lx->p) != NULL)) {
		if (n + 1 >= sizeof(lx->text)) {
			lex_error(lx, "word too long");
			return (T_ERROR);
		}
		lx->text[n++] = *lx->p++;
	}
	if (n == 0) {
		lex_error(lx, "unexpected character '%c'",
		    isprint((unsigned char)*lx->p) ? *lx->p : '?');
		return (T_ERROR);
	}
	lx->text[n] = '\0';
	return (T_WORD);
}

/* The next token must be a word or string; copy it into dst. */
static int
expect_value(struct lexer *lx, const char *what, char *dst, size_t len)
{
	enum tok	 t;

	if ((t = lex(lx)) == T_ERROR)
		return (-1);
	if (t != T_WORD && t != T_STRING)
		return (lex_error(lx, "%s needs a value", what));
	if (strlcpy(dst, lx->text, len) >= len)
		return (lex_error(lx, "%s is too long", what));
	return (0);
}

static int
id_valid(const char *id)
{
	if (*id == '\0')
		return (0);
	for (; *id != '\0'; id++)
		if (!islower((unsigned char)*id) &&
		    !isdigit((unsigned char)*id) && *id != '-')
			return (0);
	return (1);
}

static int
parse_statement(struct lexer *lx, struct preset *p)
{
	struct preset_env	*e;
	char			 word[32], val[PRESET_STR_MAX];
	const char		*errstr;
	int			 i;

	strlcpy(word, lx->text, sizeof(word));
	if (strcmp(word, "name") == 0)
		return (expect_value(lx, "name", p->name, sizeof(p->name)));
	if (strcmp(word, "image") == 0)
		return (expect_value(lx, "image", p->image, sizeof(p->image)));
	if (strcmp(word, "icon") == 0)
		return (expect_value(lx, "icon", p->icon, sizeof(p->icon)));
	if (strcmp(word, "volume") == 0) {
		if (p->nvolumes == PRESET_VOLUMES_MAX)
			return (lex_error(lx, "too many volumes"));
		if (expect_value(lx, "volume", p->volumes[p->nvolumes],
		    sizeof(p->volumes[0])) == -1)
			return (-1);
		if (p->volumes[p->nvolumes][0] != '/')
			return (lex_error(lx, "volume must be an absolute "
			    "path"));
		p->nvolumes++;
		return (0);
	}
	if (strcmp(word, "port") == 0) {
		if (p->nports == PRESET_PORTS_MAX)
			return (lex_error(lx, "too many ports"));
		if (expect_value(lx, "port", val, sizeof(val)) == -1)
			return (-1);
		p->ports[p->nports] = (int)strtonum(val, 1, 65535, &errstr);
		if (errstr != NULL)
			return (lex_error(lx, "port %s is %s", val, errstr));
		if (expect_value(lx, "port protocol", val, sizeof(val)) == -1)
			return (-1);
		if (*val == '\0' || protocol_invalid(val) != NULL)
			return (lex_error(lx, "port protocol must be tcp or "
			    "udp"));
		strlcpy(p->protos[p->nports], val, sizeof(p->protos[0]));
		p->nports++;
		return (0);
	}
	if (strcmp(word, "env") == 0) {
		if (p->nenv == PRESET_ENV_MAX)
			return (lex_error(lx, "too many env entries"));
		e = &p->env[p->nenv];
		if (expect_value(lx, "env", e->key, sizeof(e->key)) == -1)
			return (-1);
		if (env_key_invalid(e->key) != NULL)
			return (lex_error(lx, "env key %s is not a valid "
			    "name", e->key));
		for (i = 0; i < p->nenv; i++)
			if (strcmp(p->env[i].key, e->key) == 0)
				return (lex_error(lx, "env key %s given twice",
				    e->key));
		if (lex(lx) == T_ERROR)
			return (-1);
		if (strcmp(lx->text, "generate") == 0) {
			if (expect_value(lx, "generate", val,
			    sizeof(val)) == -1)
				return (-1);
			for (i = 1; i < (int)nitems(gen_names); i++)
				if (strcmp(gen_names[i], val) == 0)
					e->gen = (enum preset_gen)i;
			if (e->gen == GEN_NONE)
				return (lex_error(lx, "unknown generator %s",
				    val));
		} else if (strlcpy(e->value, lx->text, sizeof(e->value)) >=
		    sizeof(e->value))
			return (lex_error(lx, "env value too long"));
		p->nenv++;
		return (0);
	}
	return (lex_error(lx, "unknown statement \"%s\"", word));
}

int
presets_parse(const char *buf, size_t len, const char *name,
    struct preset_catalog *cat, char *err, size_t errlen)
{
	struct lexer	 lx;
	struct preset	*p;
	enum tok	 t;
	int		 i;

	/* Only the entries used are touched: the catalog is mostly room. */
	cat->n = 0;
	memset(&lx, 0, sizeof(lx));
	lx.p = buf;
	lx.end = buf + len;
	lx.name = name;
	lx.line = 1;
	lx.err = err;
	lx.errlen = errlen;
	if (len > PRESETS_FILE_MAX)
		return (lex_error(&lx, "file larger than %d bytes",
		    PRESETS_FILE_MAX));
	if (memchr(buf, '\0', len) != NULL)
		return (lex_error(&lx, "NUL byte in file"));
	while ((t = lex(&lx)) != T_EOF) {
		if (t == T_ERROR)
			return (-1);
		if (t != T_WORD || strcmp(lx.text, "preset") != 0)
			return (lex_error(&lx, "expected \"preset\""));
		if (cat->n == PRESETS_MAX)
			return (lex_error(&lx, "too many presets"));
		p = &cat->p[cat->n];
		memset(p, 0, sizeof(*p));
		if (expect_value(&lx, "preset", p->id, sizeof(p->id)) == -1)
			return (-1);
		if (!id_valid(p->id))
			return (lex_error(&lx, "preset id %s: use a-z, 0-9 "
			    "and -", p->id));
		for (i = 0; i < cat->n; i++)
			if (strcmp(cat->p[i].id, p->id) == 0)
				return (lex_error(&lx, "preset %s defined "
				    "twice", p->id));
		if ((t = lex(&lx)) != T_LBRACE)
			return (t == T_ERROR ? -1 :
			    lex_error(&lx, "expected \"{\" after preset %s",
			    p->id));
		for (;;) {
			if ((t = lex(&lx)) == T_RBRACE)
				break;
			if (t == T_ERROR)
				return (-1);
			if (t != T_WORD)
				return (lex_error(&lx, "expected a statement "
				    "or \"}\" in preset %s", p->id));
			if (parse_statement(&lx, p) == -1)
				return (-1);
		}
		if (p->name[0] == '\0' || p->image[0] == '\0')
			return (lex_error(&lx, "preset %s needs a name and an "
			    "image", p->id));
		cat->n++;
	}
	return (0);
}

const char *
preset_gen_name(enum preset_gen g)
{
	if ((size_t)g >= nitems(gen_names))
		return ("");
	return (gen_names[g]);
}

/* A fresh secret for generator g. */
void
preset_generate(enum preset_gen g, char *out, size_t outlen)
{
	static const char	 alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			 raw[32];
	size_t			 i;

	out[0] = '\0';
	switch (g) {
	case GEN_RANDOM_HEX_32:
		arc4random_buf(raw, 32);
		for (i = 0; i < 32 && 2 * i + 2 < outlen; i++) {
			out[2 * i] = hex[raw[i] >> 4];
			out[2 * i + 1] = hex[raw[i] & 15];
			out[2 * i + 2] = '\0';
		}
		break;
	case GEN_RANDOM_BASE64_24:
		arc4random_buf(raw, 24);
		base64url_encode(raw, 24, out, outlen);
		break;
	case GEN_PASSWORD_24:
		for (i = 0; i < 24 && i + 1 < outlen; i++)
			out[i] = alnum[arc4random_uniform(sizeof(alnum) - 1)];
		out[i] = '\0';
		break;
	case GEN_NONE:
		break;
	}
	explicit_bzero(raw, sizeof(raw));
}
