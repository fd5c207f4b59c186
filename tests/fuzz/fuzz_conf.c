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
 * libFuzzer: dkd.conf text.  Whatever parses must print to a text that
 * parses again, to the same settings, and prints the same.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	*print(const struct dkd_config *, size_t *);

static char *
print(const struct dkd_config *c, size_t *lenp)
{
	FILE	*fp;
	char	*text = NULL;

	if ((fp = open_memstream(&text, lenp)) == NULL)
		abort();
	config_print(c, fp);
	if (fclose(fp) != 0)
		abort();
	return (text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkd_config	 c, again;
	char				 err[1024], *text, *text2;
	size_t				 len, len2;

	if (config_parse_buffer(&c, "fuzz", (const char *)data, size, err,
	    sizeof(err)) == -1) {
		if (strncmp(err, "fuzz:", 5) != 0)
			__builtin_trap();	/* errors name the file */
		return (0);
	}
	text = print(&c, &len);
	if (config_parse_buffer(&again, "printed", text, len, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "config_print output does not parse: %s\n"
		    "%s", err, text);
		__builtin_trap();
	}
	if (!config_equal(&c, &again)) {
		fprintf(stderr, "config_print output parses to other "
		    "settings:\n%s", text);
		__builtin_trap();
	}
	text2 = print(&again, &len2);
	if (len2 != len || memcmp(text, text2, len) != 0)
		__builtin_trap();
	free(text);
	free(text2);
	return (0);
}
