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

#include <string.h>

#include <event2/http.h>

#include "api.h"
#include "worker.h"

/*
 * The client address, for login throttling.  X-Forwarded-For is
 * believed only when the peer is a configured trusted proxy; then the
 * client is the rightmost address in it that is not a trusted proxy.
 */

static int
trusted(const char *addr)
{
	uint8_t	 buf[16];
	int	 af, i;

	if (inet_pton(AF_INET, addr, buf) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		af = AF_INET6;
	else
		return (0);
	for (i = 0; i < worker->settings.nproxies; i++)
		if (cidr_match(&worker->settings.proxies[i], af, buf))
			return (1);
	return (0);
}

void
client_address(struct evhttp_request *req, char *out, size_t len)
{
	struct evhttp_connection *evcon;
	const char		*xff;
	char			 list[1024], *p, *hop;
	char			*peer = NULL;
	uint16_t		 port;

	out[0] = '\0';
	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return;
	evhttp_connection_get_peer(evcon, &peer, &port);
	if (peer == NULL)
		return;
	strlcpy(out, peer, len);
	if (worker->settings.nproxies == 0 || !trusted(peer))
		return;
	xff = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Forwarded-For");
	if (xff == NULL || strlcpy(list, xff, sizeof(list)) >= sizeof(list))
		return;
	/* Walk from the nearest hop back towards the client. */
	for (;;) {
		if ((p = strrchr(list, ',')) != NULL) {
			*p = '\0';
			hop = p + 1;
		} else
			hop = list;
		hop += strspn(hop, " \t");
		hop[strcspn(hop, " \t")] = '\0';
		if (*hop == '\0')
			return;
		strlcpy(out, hop, len);
		if (!trusted(hop) || p == NULL)
			return;
	}
}
