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
#include <sys/stat.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <malloc.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "dkd.h"
#include "log.h"
#include "settings.h"

static struct dkd	 dkd_env;
struct dkd		*env = &dkd_env;

static struct event	*ev_sighup, *ev_sigterm, *ev_sigint, *ev_sigchld;

__dead static void	usage(void);
static void		master_signal(int, short, void *);
static int		master_bind(const struct dkd_config *);
static void		master_mkdirs(const struct dkd_config *);

__dead static void
usage(void)
{
	fprintf(stderr, "usage: %s [-dnv] [-f file]\n", getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	char		 errbuf[1024];
	char		**argv0 = argv;
	int		 ch, configtest = 0, argc0 = argc;

	env->conf_path = DKD_CONF;
	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			env->foreground = 1;
			break;
		case 'f':
			/* setproctitle will reuse the memory of argv. */
			if ((env->conf_path = strdup(optarg)) == NULL)
				err(1, "strdup");
			break;
		case 'n':
			configtest = 1;
			break;
		case 'v':
			env->verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc > 0)
		usage();

	/* Until we daemonize, everything goes to stderr. */
	log_init(1, LOG_DAEMON);
	log_procinit("master");

	if (config_parse_file(&env->conf, env->conf_path, errbuf,
	    sizeof(errbuf)) == -1) {
		fprintf(stderr, "%s\n", errbuf);
		exit(1);
	}
	if (configtest) {
		if (env->verbose)
			config_print(&env->conf, stdout);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	if (geteuid() != 0)
		errx(1, "need root privileges");

	env->log_level = env->verbose ? LOG_LEVEL_DEBUG : env->conf.log_level;
	log_setlevel(env->log_level);
	setproctitle_init(argc0, argv0, environ);

	/* Slugs keep letters beyond ASCII. */
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		log_warnx("no C.UTF-8 locale: slugs will keep ASCII only");

	/* Everything the master creates is private unless it says so. */
	umask(077);
	master_mkdirs(&env->conf);
	supervisor_init();
	if (db_open(env->conf.database, errbuf, sizeof(errbuf)) == -1)
		fatalx("%s", errbuf);
	if (presets_load(DKD_DATA_DIR "/presets.conf", errbuf,
	    sizeof(errbuf)) == -1)
		fatalx("%s", errbuf);
	if ((env->listen_fd = master_bind(&env->conf)) == -1)
		exit(1);
	if (control_init(env->conf.control_socket) == -1)
		exit(1);

	if (!env->foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(0, LOG_DAEMON);
	}
	env->started = time(NULL);
	setproctitle("-dkd: master");

	if ((env->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	ev_sighup = evsignal_new(env->base, SIGHUP, master_signal, NULL);
	ev_sigterm = evsignal_new(env->base, SIGTERM, master_signal, NULL);
	ev_sigint = evsignal_new(env->base, SIGINT, master_signal, NULL);
	ev_sigchld = evsignal_new(env->base, SIGCHLD, master_signal, NULL);
	if (ev_sighup == NULL || ev_sigterm == NULL || ev_sigint == NULL ||
	    ev_sigchld == NULL)
		fatalx("evsignal_new");
	evsignal_add(ev_sighup, NULL);
	evsignal_add(ev_sigterm, NULL);
	evsignal_add(ev_sigint, NULL);
	evsignal_add(ev_sigchld, NULL);
	signal(SIGPIPE, SIG_IGN);

	control_listen();
	/*
	 * A fixed mmap threshold: argon2's 19 MiB per hash is then mapped
	 * and unmapped each time, instead of glibc raising the threshold
	 * and keeping the memory for good after the first login.
	 */
	if (mallopt(M_MMAP_THRESHOLD, 1024 * 1024) != 1)
		log_warnx("mallopt M_MMAP_THRESHOLD failed");
	hasher_init();
	auth_init();
	supervisor_start();
	log_info("dkd %s starting: listening on %s, database %s",
	    DKD_VERSION, env->conf.listen, env->conf.database);

	event_base_dispatch(env->base);

	db_close();
	control_cleanup(env->conf.control_socket);
	log_info("shutdown complete");
	return (0);
}

static void
master_signal(int sig, short event, void *arg)
{
	char	 errbuf[1024];

	switch (sig) {
	case SIGHUP:
		log_info("reloading configuration on SIGHUP");
		(void)master_reload(errbuf, sizeof(errbuf));
		break;
	case SIGTERM:
	case SIGINT:
		master_shutdown();
		break;
	case SIGCHLD:
		supervisor_reap();
		break;
	}
}

/*
 * Begin a graceful stop: workers get SIGTERM and are reaped through
 * SIGCHLD; the loop ends once none is left.
 */
void
master_shutdown(void)
{
	if (env->stopping)
		return;
	env->stopping = 1;
	log_info("stopping");
	notify_systemd("STOPPING=1");
	supervisor_stop();
	if (!supervisor_running())
		event_base_loopexit(env->base, NULL);
}

void
master_set_log_level(int level)
{
	struct wbuf	 w;

	env->log_level = level;
	log_setlevel(level);
	wbuf_init(&w, 16);
	wire_put_u32(&w, (uint32_t)level);
	supervisor_broadcast(IMSG_LOG_LEVEL, &w);
	wbuf_free(&w);
}

/*
 * Read the configuration again.  A file with errors changes nothing;
 * settings that only a restart can apply are reported, not applied.
 */
int
master_reload(char *errbuf, size_t errlen)
{
	struct dkd_config	*new, *old = &env->conf;

	if ((new = malloc(sizeof(*new))) == NULL) {
		(void)snprintf(errbuf, errlen, "%s", strerror(errno));
		return (-1);
	}
	if (config_parse_file(new, env->conf_path, errbuf, errlen) == -1) {
		log_warnx("configuration has errors, not reloading: %s",
		    errbuf);
		free(new);
		return (-1);
	}
	if (config_equal(new, old)) {
		log_info("configuration unchanged");
		free(new);
		return (0);
	}
#define NEEDS_RESTART(f, name) do {					\
	if (strcmp(new->f, old->f) != 0)				\
		log_warnx("reload: %s changed; restart dkd to apply it",\
		    name);						\
} while (0)
	NEEDS_RESTART(listen, "listen");
	NEEDS_RESTART(database, "database");
	NEEDS_RESTART(control_socket, "control-socket");
	NEEDS_RESTART(docker_socket, "docker-socket");
	NEEDS_RESTART(www, "www");
	NEEDS_RESTART(log_dir, "log-dir");
#undef NEEDS_RESTART
	old->log_level = new->log_level;
	strlcpy(old->cors_origin, new->cors_origin, sizeof(old->cors_origin));
	old->reconcile_interval_ms = new->reconcile_interval_ms;
	old->readiness_window_ms = new->readiness_window_ms;
	memcpy(old->proxies, new->proxies, sizeof(old->proxies));
	old->nproxies = new->nproxies;
	old->log_retention_bytes = new->log_retention_bytes;
	old->log_retention_sec = new->log_retention_sec;
	old->log_budget_bytes = new->log_budget_bytes;
	free(new);

	env->log_level = env->verbose ? LOG_LEVEL_DEBUG : old->log_level;
	log_setlevel(env->log_level);
	supervisor_send_settings();
	log_info("configuration reloaded");
	return (0);
}

/* Bind the API socket here; dkd-api may not create sockets. */
static int
master_bind(const struct dkd_config *conf)
{
	struct addrinfo	 hints, *res, *ai;
	const char	*host;
	int		 fd = -1, on = 1, error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	host = conf->listen_host[0] == '\0' ? NULL : conf->listen_host;
	if ((error = getaddrinfo(host, conf->listen_port, &hints, &res))) {
		log_warnx("listen %s: %s", conf->listen, gai_strerror(error));
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		/* With no host, prefer the v6 wildcard, which takes v4 too. */
		if (host == NULL && ai->ai_family != AF_INET6 &&
		    ai->ai_next != NULL)
			continue;
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1 ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, 511) == -1) {
			error = errno;
			close(fd);
			fd = -1;
			errno = error;
			continue;
		}
		break;
	}
	if (fd == -1)
		log_warn("listen %s", conf->listen);
	freeaddrinfo(res);
	return (fd);
}

void
master_mkdir(const char *path, mode_t mode)
{
	char	 buf[CONF_VALUE_MAX], *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		fatalx("path too long: %s", path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		fatal("mkdir %s", buf);
}

/* The parents of the database and the control socket. */
static void
master_mkdirs(const struct dkd_config *conf)
{
	char	 buf[CONF_VALUE_MAX], *slash;

	strlcpy(buf, conf->database, sizeof(buf));
	if ((slash = strrchr(buf, '/')) != NULL && slash != buf) {
		*slash = '\0';
		master_mkdir(buf, 0755);
	}
	strlcpy(buf, conf->control_socket, sizeof(buf));
	if ((slash = strrchr(buf, '/')) != NULL && slash != buf) {
		*slash = '\0';
		master_mkdir(buf, 0755);
	}
}
