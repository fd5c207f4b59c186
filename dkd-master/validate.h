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

#ifndef DKD_VALIDATE_H
#define DKD_VALIDATE_H

#include <stdint.h>
#include <time.h>

/*
 * validate.c: every rule a value from a client must follow, in one
 * place.  A *_invalid function returns NULL for a good value, else the
 * message that says what is wrong; NULL means "absent" where that is a
 * fault.  The preset parser links this file alone, so it needs nothing
 * of the master.
 */
int	 blank(const char *);
const char *name_invalid(const char *);
void	 email_normalize(char *);
const char *email_check(char *);
const char *password_invalid(const char *);
const char *role_invalid(const char *);
const char *description_invalid(const char *);
const char *expiry_invalid(const char *, time_t, time_t *);
int	 service_name_char(int, int);
const char *service_name_invalid(const char *);
const char *icon_url_invalid(const char *);
const char *image_invalid(const char *);
const char *replicas_invalid(int64_t);
const char *protocol_invalid(const char *);
int	 env_key_char(int, int);
const char *env_key_invalid(const char *);
const char *env_scope_invalid(const char *);
const char *node_type_invalid(const char *);

#endif /* DKD_VALIDATE_H */
