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
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "compat.h"
#include "store.h"
#include "util.h"
#include "validate.h"

/*
 * The rules values from clients follow: every handler, the Apply and
 * the preset parser ask here, so that a rule cannot differ between two
 * ways of setting the same thing.
 */

#define PASSWORD_MIN		8	/* characters, not bytes */
#define NEW_SERVICE_NAME_MAX	63	/* a DNS label */
#define IMAGE_MAX		512
#define REPLICAS_MAX		100

static const char *node_types[] = { "service", "note", "group", "label" };
static const char *env_scopes[] = { "project", "group", "service" };

static int
one_of(const char *s, const char **set, size_t n)
{
	size_t	 i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return (1);
	return (0);
}

int
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return (0);
	return (1);
}

/* Names of people and projects: anything but nothing. */
const char *
name_invalid(const char *name)
{
	if (name == NULL || blank(name))
		return ("Name is required.");
	return (NULL);
}

/*
 * Trimmed and in lower case, so that "Ann@Example.org" and
 * "ann@example.org" are one account.
 */
void
email_normalize(char *s)
{
	char	*p, *q;

	for (p = s; *p == ' ' || *p == '\t'; p++)
		;
	for (q = s; *p != '\0'; p++)
		*q++ = (char)tolower((unsigned char)*p);
	*q = '\0';
	while (q > s && (q[-1] == ' ' || q[-1] == '\t'))
		*--q = '\0';
}

/*
 * Normalise s in place, then: something before and after one '@', a dot
 * in the domain, no spaces.
 */
const char *
email_check(char *s)
{
	const char	*at, *p;

	if (s != NULL)
		email_normalize(s);
	if (s == NULL || *s == '\0')
		return ("Email is required.");
	if ((at = strchr(s, '@')) == NULL || at == s ||
	    strchr(at + 1, '@') != NULL || at[1] == '\0')
		goto bad;
	for (p = s; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			goto bad;
	p = strrchr(at + 1, '.');
	if (p != NULL && p != at + 1 && p[1] != '\0')
		return (NULL);
bad:
	return ("Email must be a valid address.");
}

const char *
password_invalid(const char *pw)
{
	if (pw == NULL || *pw == '\0')
		return ("Password is required.");
	if (utf8_chars(pw) < PASSWORD_MIN)
		return ("Password must be at least 8 characters.");
	return (NULL);
}

const char *
role_invalid(const char *role)
{
	if (role != NULL &&
	    (strcmp(role, "admin") == 0 || strcmp(role, "member") == 0))
		return (NULL);
	return ("Role must be admin or member.");
}

/* What an API key is for. */
const char *
description_invalid(const char *desc)
{
	if (desc == NULL || *desc == '\0')
		return ("Description is required.");
	return (NULL);
}

/*
 * An API key's expiry: none ("" or NULL, *when 0), or an RFC 3339 time
 * after now, into *when.
 */
const char *
expiry_invalid(const char *s, time_t now, time_t *when)
{
	*when = 0;
	if (s == NULL || *s == '\0')
		return (NULL);
	if (rfc3339_parse(s, when) == -1) {
		*when = 0;
		return ("Expiry must be an RFC 3339 time, e.g. "
		    "2030-01-31T00:00:00Z.");
	}
	if (*when <= now)
		return ("Expiry must be in the future.");
	return (NULL);
}

/*
 * A character of a service name, which ends up in container aliases and
 * in ${{name.HOST}}: letters and digits, then '-' and '_' too.
 */
int
service_name_char(int c, int first)
{
	if (isascii(c) && isalnum(c))
		return (1);
	return (!first && (c == '-' || c == '_'));
}

const char *
service_name_invalid(const char *name)
{
	const char	*p;

	if (name_invalid(name) != NULL)
		return ("Name is required.");
	if (strlen(name) > NEW_SERVICE_NAME_MAX)
		return ("Name must be at most 63 characters long.");
	for (p = name; *p != '\0'; p++)
		if (!service_name_char((unsigned char)*p, p == name))
			return ("Name may contain only letters, digits, '-' "
			    "and '_', and must start with a letter or "
			    "digit.");
	return (NULL);
}

/* NULL for "" or a good icon URL: http(s), with a host. */
const char *
icon_url_invalid(const char *url)
{
	static const char	*msg = "Icon URL must be an http or https "
	    "URL with a host.";
	const char		*p, *host, *end, *at, *colon;

	if (url == NULL || *url == '\0')
		return (NULL);
	if (strlen(url) > ICON_URL_LEN)
		return ("Icon URL must be at most 2048 characters long.");
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return (msg);
	if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return (msg);
	end = host + strcspn(host, "/?#");
	/* user:password@host:port */
	for (at = NULL, p = host; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL)
		host = at + 1;
	colon = memchr(host, ':', end - host);
	if (*host == '[')
		colon = memchr(host, ']', end - host);
	if ((colon != NULL ? colon : end) == host)
		return (msg);
	return (NULL);
}

/* A plausible Docker image reference. */
const char *
image_invalid(const char *image)
{
	const char	*p;

	if (image == NULL || blank(image))
		return ("Image is required.");
	if (strlen(image) > IMAGE_MAX)
		return ("Image must be at most 512 characters long.");
	for (p = image; *p != '\0'; p++)
		if (!(isascii((unsigned char)*p) &&
		    (isalnum((unsigned char)*p) || strchr("._/:@-", *p) !=
		    NULL)))
			return ("Image must be a Docker image reference.");
	if (!isalnum((unsigned char)image[0]))
		return ("Image must be a Docker image reference.");
	return (NULL);
}

const char *
replicas_invalid(int64_t n)
{
	if (n < 0)
		return ("Replicas must be zero or more.");
	if (n > REPLICAS_MAX)
		return ("Replicas must be at most 100.");
	return (NULL);
}

/* A port's protocol: tcp or udp, or "" for the default (tcp). */
const char *
protocol_invalid(const char *proto)
{
	if (proto != NULL && (*proto == '\0' || strcmp(proto, "tcp") == 0 ||
	    strcmp(proto, "udp") == 0))
		return (NULL);
	return ("protocol must be tcp or udp.");
}

/*
 * A character of an env var name, which a shell must take too: letters
 * and '_', then digits too.
 */
int
env_key_char(int c, int first)
{
	if (isascii(c) && isalpha(c))
		return (1);
	return (c == '_' || (!first && isascii(c) && isdigit(c)));
}

const char *
env_key_invalid(const char *key)
{
	const char	*p;

	if (key == NULL || *key == '\0')
		return ("Key is required.");
	for (p = key; *p != '\0'; p++)
		if (!env_key_char((unsigned char)*p, p == key))
			return ("Key must contain only letters, digits and "
			    "underscores, and cannot start with a digit.");
	return (NULL);
}

/* Where an env var belongs. */
const char *
env_scope_invalid(const char *scope)
{
	if (one_of(scope, env_scopes, nitems(env_scopes)))
		return (NULL);
	return ("Scope must be project, group or service.");
}

const char *
node_type_invalid(const char *type)
{
	if (one_of(type, node_types, nitems(node_types)))
		return (NULL);
	return ("Type must be service, note, group or label.");
}
