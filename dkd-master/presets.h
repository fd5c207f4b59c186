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

#ifndef DKD_PRESETS_H
#define DKD_PRESETS_H

#include <stddef.h>

#define PRESETS_MAX		64
#define PRESET_ENV_MAX		32
#define PRESET_PORTS_MAX	8
#define PRESET_VOLUMES_MAX	8
#define PRESET_STR_MAX		512
#define PRESETS_FILE_MAX	(256 * 1024)

enum preset_gen {
	GEN_NONE = 0,
	GEN_RANDOM_HEX_32,
	GEN_RANDOM_BASE64_24,
	GEN_PASSWORD_24,
};

struct preset_env {
	char		 key[128];
	char		 value[PRESET_STR_MAX];
	enum preset_gen	 gen;
};

struct preset {
	char		 id[64];
	char		 name[128];
	char		 image[PRESET_STR_MAX];
	char		 icon[PRESET_STR_MAX];
	int		 ports[PRESET_PORTS_MAX];
	char		 protos[PRESET_PORTS_MAX][4];
	int		 nports;
	char		 volumes[PRESET_VOLUMES_MAX][PRESET_STR_MAX];
	int		 nvolumes;
	struct preset_env env[PRESET_ENV_MAX];
	int		 nenv;
};

struct preset_catalog {
	struct preset	 p[PRESETS_MAX];
	int		 n;
};

int	 presets_parse(const char *, size_t, const char *,
	    struct preset_catalog *, char *, size_t);
const char *preset_gen_name(enum preset_gen);
void	 preset_generate(enum preset_gen, char *, size_t);

#endif /* DKD_PRESETS_H */
