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
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "compat.h"

/*
 * Address ranges, for trusted proxies: parsed by the master from
 * dkd.conf, matched by dkd-api against each peer.
 */

/* "10.0.0.0/8", "fd00::/8" or a bare address (a range of one). */
int
cidr_parse(const char *s, struct cidr *c)
{
	const char	*slash, *errstr;
	char		 addr[INET6_ADDRSTRLEN + 1];
	size_t		 len;
	int		 max;

	memset(c, 0, sizeof(*c));
	if ((slash = strchr(s, '/')) != NULL)
		len = (size_t)(slash - s);
	else
		len = strlen(s);
	if (len == 0 || len >= sizeof(addr))
		return (-1);
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->af = AF_INET6;
		max = 128;
	} else
		return (-1);
	c->prefixlen = max;
	if (slash != NULL) {
		if (slash[1] == '\0' || strlen(slash + 1) > 3)
			return (-1);
		c->prefixlen = (int)strtonum(slash + 1, 0, max, &errstr);
		if (errstr != NULL)
			return (-1);
	}
	return (0);
}

/* Does addr (4 or 16 bytes of family af) lie inside c? */
int
cidr_match(const struct cidr *c, int af, const void *addr)
{
	const uint8_t	*a = addr;
	int		 bits = c->prefixlen, i;
	uint8_t		 mask;

	if (af != c->af)
		return (0);
	for (i = 0; bits > 0; i++, bits -= 8) {
		mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] & mask) != (c->addr[i] & mask))
			return (0);
	}
	return (1);
}

void
cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char	 addr[INET6_ADDRSTRLEN];

	if (inet_ntop(c->af, c->addr, addr, sizeof(addr)) == NULL)
		strlcpy(addr, "?", sizeof(addr));
	(void)snprintf(buf, len, "%s/%d", addr, c->prefixlen);
}
