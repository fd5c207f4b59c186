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

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "presets.h"
#include "tap.h"
#include "validate.h"

/*
 * The rules of validate.c, and that the places which share a rule ask
 * it: the preset parser takes the env keys and protocols the API takes.
 */

static int
preset_with(const char *stmt)
{
	struct preset_catalog	 cat;
	char			 buf[512], err[256];
	int			 n;

	n = snprintf(buf, sizeof(buf), "preset p {\n name \"P\"\n "
	    "image \"i\"\n %s\n}\n", stmt);
	return (presets_parse(buf, (size_t)n, "test", &cat, err,
	    sizeof(err)));
}

static int
preset_env_ok(const char *key)
{
	char	 stmt[128];

	(void)snprintf(stmt, sizeof(stmt), "env \"%s\" \"v\"", key);
	return (preset_with(stmt) == 0);
}

int
main(void)
{
	const char	*keys[] = { "A", "_a1", "DB_URL", "1A", "A-B", "A B",
			    "\xc3\xa9", "" };
	char		 email[64];
	time_t		 now = 1700000000, when;
	size_t		 i;
	int		 agree;

	plan(31);

	strlcpy(email, "  Ann@Example.ORG\t", sizeof(email));
	ok(email_check(email) == NULL && strcmp(email, "ann@example.org") == 0,
	    "email: trimmed, lower case, good");
	ok(email_check(NULL) != NULL && strcmp(email_check(NULL),
	    "Email is required.") == 0, "email: absent is required");
	strlcpy(email, " \t", sizeof(email));
	ok(email_check(email) != NULL && strcmp(email_check(email),
	    "Email is required.") == 0, "email: blank is required");
	strlcpy(email, "a@b", sizeof(email));
	ok(email_check(email) != NULL, "email: a domain needs a dot");
	strlcpy(email, "a@@b.c", sizeof(email));
	ok(email_check(email) != NULL, "email: one '@' only");
	strlcpy(email, "a b@c.d", sizeof(email));
	ok(email_check(email) != NULL, "email: no spaces inside");

	ok(password_invalid("1234567") != NULL, "password: 7 is too short");
	ok(password_invalid("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9") != NULL,
	    "password: characters count, not bytes");
	ok(password_invalid("12345678") == NULL, "password: 8 will do");
	ok(password_invalid(NULL) != NULL && password_invalid("") != NULL,
	    "password: required");

	ok(role_invalid("admin") == NULL && role_invalid("member") == NULL,
	    "role: admin and member");
	ok(role_invalid("root") != NULL && role_invalid("") != NULL,
	    "role: nothing else");

	ok(name_invalid(" \t") != NULL && name_invalid(NULL) != NULL &&
	    name_invalid("x") == NULL, "name: anything but blank");

	ok(service_name_invalid("web-1_a") == NULL, "service name: good");
	ok(service_name_invalid("-web") != NULL &&
	    service_name_invalid("we.b") != NULL, "service name: bad");
	ok(service_name_invalid("a123456789012345678901234567890123456789"
	    "01234567890123456789012") == NULL && service_name_invalid(
	    "a123456789012345678901234567890123456789012345678901234567890"
	    "123") != NULL, "service name: at most 63 characters");

	ok(icon_url_invalid("") == NULL &&
	    icon_url_invalid("https://u:p@h:1/x") == NULL,
	    "icon URL: none, or http(s) with a host");
	ok(icon_url_invalid("https://:80/") != NULL &&
	    icon_url_invalid("ftp://h/") != NULL &&
	    icon_url_invalid("http://h/ x") != NULL, "icon URL: bad");

	ok(image_invalid("ghcr.io/a/b:1@sha256:0") == NULL &&
	    image_invalid(".a") != NULL && image_invalid("a b") != NULL,
	    "image: a reference");
	ok(replicas_invalid(0) == NULL && replicas_invalid(100) == NULL &&
	    replicas_invalid(-1) != NULL && replicas_invalid(101) != NULL,
	    "replicas: 0 to 100");

	ok(env_key_invalid("_A1") == NULL && env_key_invalid("1A") != NULL &&
	    env_key_invalid("A-B") != NULL && env_key_invalid("") != NULL,
	    "env key: a shell name");
	ok(env_scope_invalid("group") == NULL &&
	    env_scope_invalid("node") != NULL && env_scope_invalid(NULL) !=
	    NULL, "env scope: project, group or service");
	ok(node_type_invalid("label") == NULL &&
	    node_type_invalid("box") != NULL, "node type: the four");

	ok(expiry_invalid("", now, &when) == NULL && when == 0,
	    "expiry: none");
	ok(expiry_invalid("2030-01-31T00:00:00Z", now, &when) == NULL &&
	    when > now, "expiry: a future time");
	ok(expiry_invalid("2020-01-31T00:00:00Z", now, &when) != NULL,
	    "expiry: not in the past");
	ok(expiry_invalid("tomorrow", now, &when) != NULL,
	    "expiry: RFC 3339 only");
	ok(description_invalid("") != NULL && description_invalid("ci") ==
	    NULL, "description: required");

	for (agree = 1, i = 0; i < nitems(keys); i++)
		if (preset_env_ok(keys[i]) != (env_key_invalid(keys[i]) ==
		    NULL)) {
			diag("env key \"%s\": the preset parser differs",
			    keys[i]);
			agree = 0;
		}
	ok(agree, "presets take exactly the env keys the API takes");
	ok(preset_with("port 1 tcp") == 0 && preset_with("port 1 udp") == 0 &&
	    preset_with("port 1 sctp") == -1, "presets: tcp or udp");
	ok(protocol_invalid("") == NULL && preset_with("port 1 \"\"") == -1,
	    "protocol: the API's default, not a preset's");

	return (done_testing());
}
