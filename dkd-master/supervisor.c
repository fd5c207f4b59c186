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
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dkd.h"
#include "log.h"
#include "sandbox.h"
#include "settings.h"

/*
 * The worker table: start each worker, hand it its configuration, watch
 * it with pings and restart it with backoff when it dies.  Too many
 * deaths in a short time mean something is badly wrong; then the master
 * gives up and leaves the decision to the service manager.
 */

#define BACKOFF_MIN		1	/* seconds */
#define BACKOFF_MAX		60
#define BACKOFF_RESET		60	/* healthy this long: reset */
#define DEATH_BUDGET		5	/* deaths allowed ... */
#define DEATH_WINDOW		300	/* ... within this many seconds */
#define PING_INTERVAL		10
#define PING_TIMEOUT		30
#define STOP_GRACE		4	/* seconds before SIGKILL */

struct child {
	const char		*name;
	enum dkd_proc_id	 id;
	const char		*bin;		/* in the libexec directory */
	const char		*user;
	int			(*dispatch)(struct imsg *);
	void			(*on_ready)(void);	/* each start */

	uid_t			 uid;
	gid_t			 gid;
	gid_t			 extra_gid;
	const char		*chroot;
	char			 exe[PATH_MAX];

	pid_t			 pid;
	struct imsgev		 iev;
	int			 ready;
	time_t			 started;
	unsigned		 restarts;
	int			 backoff;
	struct event		*respawn;
	time_t			 last_pong;
	uint32_t		 ping_seq;
	unsigned		 generation;	/* starts so far */
};

static struct child children[] = {
	{ .name = "api", .id = PROC_API, .bin = "dkd-api",
	    .user = DKD_USER_API, .dispatch = master_dispatch_api },
	{ .name = "reconciler", .id = PROC_RECONCILER,
	    .bin = "dkd-reconciler", .user = DKD_USER_REC,
	    .dispatch = master_dispatch_reconciler,
	    .on_ready = rec_ready },
	{ .name = "logd", .id = PROC_LOGD, .bin = "dkd-logd",
	    .user = DKD_USER_LOG, .dispatch = master_dispatch_logd },
};

static time_t		 deaths[DEATH_BUDGET + 1];
static int		 ndeaths;
static struct event	*ping_ev, *kill_ev;

static void	child_spawn(struct child *);
static void	child_respawn(int, short, void *);
static void	child_lost(struct child *);
static void	child_dispatch(int, short, void *);
static void	child_send_config(struct child *);
static int	child_send(struct child *, uint32_t, uint32_t, int,
		    struct wbuf *);
static void	child_kill(struct child *, const char *);
static void	supervisor_ping(int, short, void *);
static void	supervisor_kill_stragglers(int, short, void *);
static struct child *child_byid(enum dkd_proc_id);
static void	child_paths(void);
static void	user_lookup(struct child *);
static void	www_check(struct child *);
static void	logd_dirs(struct child *);

static struct child *
child_byid(enum dkd_proc_id id)
{
	size_t	 i;

	for (i = 0; i < nitems(children); i++)
		if (children[i].id == id)
			return (&children[i]);
	return (NULL);
}

/*
 * Which start of a worker this is.  A reply meant for a dead dkd-api
 * must not reach its successor, whose request ids start over.
 */
unsigned
supervisor_generation(enum dkd_proc_id id)
{
	struct child		*w;

	if ((w = child_byid(id)) == NULL)
		return (0);
	return (w->generation);
}

const char *
supervisor_name(enum dkd_proc_id id)
{
	struct child		*w;

	if (id == PROC_MASTER)
		return ("master");
	if ((w = child_byid(id)) == NULL)
		return ("?");
	return (w->name);
}

static void
user_lookup(struct child *w)
{
	struct passwd	*pw;

	if ((pw = getpwnam(w->user)) == NULL)
		fatalx("user %s does not exist; create it before starting dkd"
		    " (\"make deps\" does)", w->user);
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		fatalx("user %s must not have uid or gid 0", w->user);
	w->uid = pw->pw_uid;
	w->gid = pw->pw_gid;
	w->extra_gid = (gid_t)-1;
}

/*
 * Where the worker executables are: the compiled-in directory, or
 * DKD_LIBEXEC for tests that put a misbehaving worker in place of a real
 * one.  Only root starts dkd, and root chooses root's environment, so
 * the variable grants nothing new.
 */
static void
child_paths(void)
{
	const char	*dir;
	size_t		 i;

	if ((dir = getenv("DKD_LIBEXEC")) == NULL || *dir == '\0')
		dir = DKD_LIBEXEC;
	else
		log_warnx("workers from %s (DKD_LIBEXEC), not %s", dir,
		    DKD_LIBEXEC);
	for (i = 0; i < nitems(children); i++)
		if ((size_t)snprintf(children[i].exe, sizeof(children[i].exe),
		    "%s/%s", dir, children[i].bin) >= sizeof(children[i].exe))
			fatalx("worker directory %s: path too long", dir);
}

/*
 * Resolve users and jails before anything runs, so a broken set-up is
 * one clear error at start rather than a worker dying in a loop.
 */
void
supervisor_init(void)
{
	struct child		*w;
	struct group		*gr;
	struct stat		 st;
	size_t			 i, j;

	child_paths();
	for (i = 0; i < nitems(children); i++) {
		user_lookup(&children[i]);
		for (j = 0; j < i; j++)
			if (children[j].uid == children[i].uid)
				fatalx("users %s and %s share a uid; each "
				    "worker needs its own", children[j].user,
				    children[i].user);
	}

	w = child_byid(PROC_API);
	w->chroot = env->conf.www;
	www_check(w);

	w = child_byid(PROC_LOGD);
	w->chroot = env->conf.log_dir;
	logd_dirs(w);

	/* The docker group is root-equivalent: the reconciler alone. */
	w = child_byid(PROC_RECONCILER);
	w->chroot = "";
	if ((gr = getgrnam(DKD_DOCKER_GROUP)) != NULL)
		w->extra_gid = gr->gr_gid;
	else if (stat(env->conf.docker_socket, &st) == 0 && st.st_gid != 0)
		w->extra_gid = st.st_gid;
	else
		log_warnx("no group %s and no usable %s: the reconciler will "
		    "not reach Docker", DKD_DOCKER_GROUP,
		    env->conf.docker_socket);
}

/*
 * dkd-api's jail is the web UI, which it only reads: refuse a directory
 * that the api user could change, as owner, through its group or as
 * anybody.
 */
static void
www_check(struct child *w)
{
	struct stat	 st;

	if (stat(w->chroot, &st) == -1)
		fatal("www directory %s", w->chroot);
	if (!S_ISDIR(st.st_mode))
		fatalx("www %s is not a directory", w->chroot);
	if (st.st_mode & S_IWOTH)
		fatalx("www directory %s is writable by everyone", w->chroot);
	if (st.st_uid == w->uid)
		fatalx("www directory %s is owned by %s; it must belong to "
		    "root", w->chroot, w->user);
	if ((st.st_mode & S_IWGRP) && st.st_gid == w->gid)
		fatalx("www directory %s is writable by the group of %s",
		    w->chroot, w->user);
}

/*
 * logd's jail belongs to root, so logd cannot replace or add entries at
 * its own root; it writes in LOGD_DATA_DIR below it, which is its own
 * and nobody else's.  An older dkd gave logd the whole directory, so a
 * link planted there is not followed.
 */
static void
logd_dirs(struct child *w)
{
	int	 dfd, fd;

	master_mkdir(w->chroot, 0755);
	if ((dfd = open(w->chroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fchown(dfd, 0, 0) == -1 || fchmod(dfd, 0755) == -1)
		fatal("log directory %s", w->chroot);
	if (mkdirat(dfd, LOGD_DATA_DIR, 0700) == -1 && errno != EEXIST)
		fatal("mkdir %s/%s", w->chroot, LOGD_DATA_DIR);
	if ((fd = openat(dfd, LOGD_DATA_DIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fchown(fd, w->uid, w->gid) == -1 || fchmod(fd, 0700) == -1)
		fatal("log data directory %s/%s", w->chroot, LOGD_DATA_DIR);
	close(fd);
	close(dfd);
}

void
supervisor_start(void)
{
	struct timeval	 tv = { PING_INTERVAL, 0 };
	size_t		 i;

	ping_ev = event_new(env->base, -1, EV_PERSIST, supervisor_ping, NULL);
	if (ping_ev == NULL || event_add(ping_ev, &tv) == -1)
		fatalx("%s: ping timer", __func__);
	for (i = 0; i < nitems(children); i++) {
		children[i].backoff = BACKOFF_MIN;
		children[i].respawn = evtimer_new(env->base, child_respawn,
		    &children[i]);
		if (children[i].respawn == NULL)
			fatalx("%s: evtimer_new", __func__);
		child_spawn(&children[i]);
	}
}

static void
child_spawn(struct child *w)
{
	char	*argv[3], *envp[2];
	int	 fd, argc = 0;

	argv[argc++] = (char *)w->exe;
	if (env->foreground)
		argv[argc++] = "-d";
	argv[argc] = NULL;
	/* A clean environment; UTC so no zone file is read in a jail. */
	envp[0] = "TZ=UTC";
	envp[1] = NULL;

	if ((w->pid = proc_spawn(w->exe, argv, envp, &fd)) == -1) {
		log_warn("cannot start %s (%s)", w->name, w->exe);
		w->pid = 0;
		child_lost(w);
		return;
	}
	if (imsgev_init(&w->iev, env->base, fd, DKD_IMSG_MAX_INTERNAL,
	    DKD_QUEUE_MAX_INTERNAL, proc_fdpass(w->id, PROC_MASTER),
	    child_dispatch, w) == -1)
		fatal("%s: imsgev_init", __func__);
	w->ready = 0;
	w->generation++;
	w->started = time(NULL);
	w->last_pong = w->started;
	child_send_config(w);
	log_debug("started %s, pid %d", w->name, (int)w->pid);
}

static void
child_send_config(struct child *w)
{
	struct sandbox_cfg	 sc;
	struct dkd_settings	 s;
	struct wbuf		 wb;
	int			 fd;

	memset(&sc, 0, sizeof(sc));
	sc.uid = w->uid;
	sc.gid = w->gid;
	sc.extra_gid = w->extra_gid;
	strlcpy(sc.chroot, w->chroot, sizeof(sc.chroot));
	sc.master_pid = getpid();
	wbuf_init(&wb, DKD_IMSG_MAX_INTERNAL);
	msg_sandbox_put(&wb, &sc);
	if (imsgev_compose_wire(&w->iev, IMSG_CFG_SANDBOX, 0, -1, &wb) == -1)
		fatal("%s: compose", __func__);
	wbuf_free(&wb);

	settings_from_config(&s, &env->conf);
	s.log_level = env->log_level;
	wbuf_init(&wb, DKD_IMSG_MAX_INTERNAL);
	settings_put(&wb, &s);
	if (imsgev_compose_wire(&w->iev, IMSG_CFG_SETTINGS, 0, -1, &wb) == -1)
		fatal("%s: compose", __func__);
	wbuf_free(&wb);

	if (w->id == PROC_API) {
		if ((fd = dup(env->listen_fd)) == -1)
			fatal("%s: dup", __func__);
		if (imsgev_compose(&w->iev, IMSG_CFG_LISTEN, 0, fd, NULL,
		    0) == -1)
			fatal("%s: compose", __func__);
	}
	if (imsgev_compose(&w->iev, IMSG_CFG_DONE, 0, -1, NULL, 0) == -1)
		fatal("%s: compose", __func__);
}

void
supervisor_send_settings(void)
{
	struct dkd_settings	 s;
	struct wbuf		 wb;

	settings_from_config(&s, &env->conf);
	s.log_level = env->log_level;
	wbuf_init(&wb, DKD_IMSG_MAX_INTERNAL);
	settings_put(&wb, &s);
	supervisor_broadcast(IMSG_CFG_SETTINGS, &wb);
	wbuf_free(&wb);
}

void
supervisor_broadcast(uint32_t type, struct wbuf *wb)
{
	size_t	 i;

	for (i = 0; i < nitems(children); i++)
		if (children[i].iev.active)
			(void)supervisor_send(children[i].id, type, 0, wb);
}

/*
 * Send to a worker; a worker that cannot keep up is killed.  A
 * descriptor (or -1) is taken either way: closed if it cannot go.
 */
static int
child_send(struct child *w, uint32_t type, uint32_t peerid, int fd,
    struct wbuf *wb)
{
	if (imsgev_compose_wire(&w->iev, type, peerid, fd, wb) == -1) {
		if (fd != -1)
			close(fd);
		if (errno == ENOBUFS)
			child_kill(w, "its channel is full");
		else
			log_warn("%s: compose to %s", __func__, w->name);
		return (-1);
	}
	return (0);
}

/* Send to a worker, if it runs (else EPIPE). */
int
supervisor_send(enum dkd_proc_id id, uint32_t type, uint32_t peerid,
    struct wbuf *wb)
{
	struct child		*w;

	if ((w = child_byid(id)) == NULL || !w->iev.active) {
		errno = EPIPE;
		return (-1);
	}
	return (child_send(w, type, peerid, -1, wb));
}

/*
 * Send with a descriptor, which is taken either way: closed if it
 * cannot go.  Only to a worker that is ready: during its configuration
 * a worker takes no descriptor but its listening socket.
 */
int
supervisor_send_fd(enum dkd_proc_id id, uint32_t type, uint32_t peerid,
    int fd, struct wbuf *wb)
{
	struct child		*w;

	if ((w = child_byid(id)) == NULL || !w->iev.active || !w->ready) {
		close(fd);
		errno = EPIPE;
		return (-1);
	}
	return (child_send(w, type, peerid, fd, wb));
}

int
supervisor_ready(enum dkd_proc_id id)
{
	struct child		*w;

	return ((w = child_byid(id)) != NULL && w->iev.active && w->ready);
}

/*
 * A descriptor that no message claims: one sent with a message that
 * does not say it has one.  Descriptors arrive with the first byte of
 * their message, and the kernel ends a read after bytes that carry
 * one, so once every whole message is taken, a descriptor still
 * waiting belongs to the message begun in the buffer, which must say
 * so.
 */
static int
child_orphan_fd(struct child *w)
{
	struct imsgbuf	*ib = &w->iev.ibuf;
	struct imsg_hdr	 hdr;

	if (ib->nrfds == 0)
		return (0);
	if (ib->rlen == 0)
		return (1);
	if (ib->rlen < sizeof(hdr))
		return (0);
	memcpy(&hdr, ib->rbuf, sizeof(hdr));
	return ((hdr.len & IMSG_FD_MARK) == 0 || ib->nrfds > 1);
}

/* Which messages may come with a descriptor. */
static int
child_fd_expected(struct child *w, uint32_t type)
{
	return (w->id == PROC_RECONCILER && type == IMSG_REC_LOGSTREAM);
}

/* A worker that misbehaves is killed and, through SIGCHLD, restarted. */
static void
child_kill(struct child *w, const char *why)
{
	log_warnx("killing %s (pid %d): %s", w->name, (int)w->pid, why);
	imsgev_clear(&w->iev);
	if (w->pid > 0)
		(void)kill(w->pid, SIGKILL);
}

static void
child_dispatch(int fd, short event, void *arg)
{
	struct child		*w = arg;
	struct imsg		 imsg;
	struct rbuf		 r;
	int			 n, all;
	size_t			 i;

	if ((n = imsgev_io(&w->iev, event)) == -1) {
		child_kill(w, strerror(errno));
		return;
	}
	if (n == 0) {
		/* A message cut short by end of file is a broken worker. */
		if (w->iev.ibuf.rlen > 0) {
			child_kill(w, "it closed its channel in the middle of "
			    "a message");
			return;
		}
		/* Dead or about to be: SIGCHLD completes the picture. */
		if (!env->stopping)
			log_debug("%s closed its channel", w->name);
		imsgev_clear(&w->iev);
		if (w->pid > 0)
			(void)kill(w->pid, SIGKILL);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&w->iev.ibuf, &imsg)) == -1) {
			child_kill(w, "malformed message");
			return;
		}
		if (n == 0)
			break;
		if (imsg.fd != -1 && !child_fd_expected(w, imsg.hdr.type)) {
			imsg_free(&imsg);
			child_kill(w, "a descriptor on a message that carries "
			    "none");
			return;
		}
		rbuf_init(&r, imsg.data, imsg.len);
		switch (imsg.hdr.type) {
		case IMSG_READY:
			if (imsg.len != 0 || w->ready) {
				imsg_free(&imsg);
				child_kill(w, "bad IMSG_READY");
				return;
			}
			w->ready = 1;
			log_debug("%s (pid %d) is ready", w->name, (int)w->pid);
			for (all = 1, i = 0; i < nitems(children); i++)
				all &= children[i].ready;
			if (all && !env->ready) {
				env->ready = 1;
				log_info("ready: all workers are running");
				notify_systemd("READY=1\nSTATUS=running");
			}
			if (w->on_ready != NULL)
				w->on_ready();
			break;
		case IMSG_PONG:
			(void)wire_get_u32(&r);
			if (wire_done(&r) == -1) {
				imsg_free(&imsg);
				child_kill(w, "bad IMSG_PONG");
				return;
			}
			w->last_pong = time(NULL);
			break;
		default:
			if (!w->ready || w->dispatch(&imsg) == -1) {
				log_warnx("%s sent an unexpected or malformed "
				    "message (type %u, %zu bytes)", w->name,
				    imsg.hdr.type, imsg.len);
				imsg_free(&imsg);
				child_kill(w, "protocol violation");
				return;
			}
			break;
		}
		imsg_free(&imsg);
		if (!w->iev.active)
			return;
	}
	if (child_orphan_fd(w)) {
		child_kill(w, "a descriptor without its message: Bad message");
		return;
	}
	imsgev_add(&w->iev);
}

/* Reap every child that ended; several deaths may share one SIGCHLD. */
void
supervisor_reap(void)
{
	struct child		*w;
	pid_t			 pid;
	size_t			 i;
	int			 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (w = NULL, i = 0; i < nitems(children); i++)
			if (children[i].pid == pid)
				w = &children[i];
		if (w == NULL)
			continue;
		w->pid = 0;
		w->ready = 0;
		imsgev_clear(&w->iev);
		if (env->stopping) {
			log_debug("%s exited", w->name);
			continue;
		}
		if (WIFSIGNALED(status))
			log_warnx("lost %s (pid %d): killed by signal %d",
			    w->name, (int)pid, WTERMSIG(status));
		else
			log_warnx("lost %s (pid %d): exited with status %d",
			    w->name, (int)pid, WEXITSTATUS(status));
		child_lost(w);
	}
	if (env->stopping && !supervisor_running())
		event_base_loopexit(env->base, NULL);
}

/* Count the death against the budget and schedule a restart. */
static void
child_lost(struct child *w)
{
	struct timeval	 tv;
	time_t		 now = time(NULL);
	int		 i, recent = 0;

	if (ndeaths == (int)nitems(deaths)) {
		memmove(&deaths[0], &deaths[1],
		    (nitems(deaths) - 1) * sizeof(deaths[0]));
		ndeaths--;
	}
	deaths[ndeaths++] = now;
	for (i = 0; i < ndeaths; i++)
		if (now - deaths[i] < DEATH_WINDOW)
			recent++;
	if (recent > DEATH_BUDGET) {
		log_warnx("workers died %d times within %d seconds; giving up",
		    recent, DEATH_WINDOW);
		supervisor_stop();
		exit(1);
	}
	if (w->started != 0 && now - w->started >= BACKOFF_RESET)
		w->backoff = BACKOFF_MIN;
	log_info("restarting %s in %d second%s", w->name, w->backoff,
	    w->backoff == 1 ? "" : "s");
	tv.tv_sec = w->backoff;
	tv.tv_usec = 0;
	evtimer_add(w->respawn, &tv);
	w->backoff = MINIMUM(w->backoff * 2, BACKOFF_MAX);
	w->restarts++;
}

static void
child_respawn(int fd, short event, void *arg)
{
	struct child		*w = arg;

	if (env->stopping)
		return;
	child_spawn(w);
}

/* Ping the ready workers; one that stays silent too long is killed. */
static void
supervisor_ping(int fd, short event, void *arg)
{
	struct child		*w;
	struct wbuf		 wb;
	time_t			 now = time(NULL);
	size_t			 i;

	for (i = 0; i < nitems(children); i++) {
		w = &children[i];
		if (!w->iev.active)
			continue;
		if (now - w->last_pong > PING_TIMEOUT) {
			child_kill(w, "it stopped answering");
			continue;
		}
		wbuf_init(&wb, 8);
		wire_put_u32(&wb, ++w->ping_seq);
		(void)supervisor_send(w->id, IMSG_PING, 0, &wb);
		wbuf_free(&wb);
	}
}

/* SIGTERM to all; SIGKILL to whoever is still there after the grace. */
void
supervisor_stop(void)
{
	struct timeval	 tv = { STOP_GRACE, 0 };
	size_t		 i;

	if (ping_ev != NULL)
		event_del(ping_ev);
	for (i = 0; i < nitems(children); i++) {
		if (children[i].respawn != NULL)
			evtimer_del(children[i].respawn);
		if (children[i].pid > 0)
			(void)kill(children[i].pid, SIGTERM);
	}
	if (env->base != NULL && kill_ev == NULL) {
		kill_ev = evtimer_new(env->base, supervisor_kill_stragglers,
		    NULL);
		if (kill_ev != NULL)
			evtimer_add(kill_ev, &tv);
	}
}

static void
supervisor_kill_stragglers(int fd, short event, void *arg)
{
	size_t	 i;

	for (i = 0; i < nitems(children); i++)
		if (children[i].pid > 0) {
			log_warnx("%s did not stop in time; killing it",
			    children[i].name);
			(void)kill(children[i].pid, SIGKILL);
		}
}

int
supervisor_running(void)
{
	size_t	 i;

	for (i = 0; i < nitems(children); i++)
		if (children[i].pid > 0)
			return (1);
	return (0);
}

void
supervisor_status(enum dkd_proc_id id, pid_t *pid, time_t *started,
    unsigned *restarts, const char **state)
{
	struct child		*w;

	if (id == PROC_MASTER) {
		*pid = getpid();
		*started = env->started;
		*restarts = 0;
		*state = env->stopping ? "stopping" : "running";
		return;
	}
	w = child_byid(id);
	*pid = w->pid;
	*started = w->pid > 0 ? w->started : 0;
	*restarts = w->restarts;
	if (w->pid == 0)
		*state = env->stopping ? "stopped" : "restarting";
	else if (!w->ready)
		*state = "starting";
	else
		*state = "running";
}

/* Bytes waiting to be written to a worker: how far behind it is. */
size_t
supervisor_queued(enum dkd_proc_id id)
{
	struct child	*c;

	if ((c = child_byid(id)) == NULL || !c->iev.active)
		return (0);
	return (c->iev.ibuf.wq_bytes);
}
