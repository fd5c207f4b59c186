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
 * The reconciler channel's codecs (msg.h): every payload survives its
 * round trip, and the decoders refuse what breaks the contract, and
 * every truncation, without leaking (the ASan build runs this too).
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "tap.h"
#include "tree.h"
#include "tval.h"
#include "wire.h"

#define DEP1	"11111111-1111-4111-8111-111111111111"
#define DEP2	"22222222-2222-4222-8222-222222222222"
#define SVC	"33333333-3333-4333-8333-333333333333"
#define PRJ	"44444444-4444-4444-8444-444444444444"

static void
desired_sample(struct msg_rec_desired *ds, struct msg_rec_deployment *d,
    struct msg_rec_env *env, struct msg_rec_port *ports,
    struct msg_rec_volume *vol)
{
	memset(ds, 0, sizeof(*ds));
	memset(d, 0, 2 * sizeof(*d));
	memset(ports, 0, 2 * sizeof(*ports));
	strlcpy(ds->service_id, SVC, sizeof(ds->service_id));
	strlcpy(ds->project_id, PRJ, sizeof(ds->project_id));
	strlcpy(ds->project_slug, "shop-a1b2c3", sizeof(ds->project_slug));
	strlcpy(ds->service_name, "web", sizeof(ds->service_name));
	env[0].key = "PORT";
	env[0].value = "8080";
	env[1].key = "EMPTY";
	env[1].value = "";
	ports[0].container_port = 8080;
	ports[0].host_port = 18080;
	strlcpy(ports[0].protocol, "tcp", sizeof(ports[0].protocol));
	ports[1].container_port = 53;
	strlcpy(ports[1].protocol, "udp", sizeof(ports[1].protocol));
	strlcpy(d[0].id, DEP1, sizeof(d[0].id));
	strlcpy(d[0].status, "healthy", sizeof(d[0].status));
	d[0].image = "busybox:1";
	d[0].env = env;
	d[0].nenv = 2;
	d[0].ports = ports;
	d[0].nports = 2;
	d[0].memory_mb = 64;
	d[0].cpu_shares = 512;
	d[0].replicas = 2;
	d[0].baseline_restart_count = 3;
	d[0].active = 1;
	strlcpy(d[1].id, DEP2, sizeof(d[1].id));
	strlcpy(d[1].status, "pending", sizeof(d[1].status));
	d[1].image = "busybox:2";
	d[1].replicas = 1;
	d[1].attempt_count = 2;
	ds->deployments = d;
	ds->ndeployments = 2;
	vol->name = "data";
	vol->path = "/var/lib/postgresql/data";
	ds->volumes = vol;
	ds->nvolumes = 1;
}

static int
desired_decode(const struct wbuf *w, size_t len, struct msg_rec_desired *ds)
{
	struct rbuf	 r;

	rbuf_init(&r, w->buf, len);
	return (msg_rec_desired_get(&r, ds));
}

/* Does the decoder refuse ds?  got is what a refusal leaves. */
static int
desired_refused(const struct msg_rec_desired *ds, struct msg_rec_desired *got)
{
	struct wbuf	 w;
	int		 rc = -1;

	wbuf_init(&w, 1024 * 1024);
	msg_rec_desired_put(&w, ds);
	if (!w.error && (rc = desired_decode(&w, w.len, got)) == 0)
		msg_rec_desired_free(got);
	wbuf_free(&w);
	return (rc == -1);
}

static void
test_desired(void)
{
	struct msg_rec_desired	 ds, got;
	struct msg_rec_deployment d[2];
	struct msg_rec_env	 env[2];
	struct msg_rec_port	 ports[2];
	struct msg_rec_volume	 vol;
	struct wbuf		 w;
	size_t			 cut;
	int			 bad;

	desired_sample(&ds, d, env, ports, &vol);
	wbuf_init(&w, 65536);
	msg_rec_desired_put(&w, &ds);
	ok(!w.error && desired_decode(&w, w.len, &got) == 0,
	    "DESIRED round trip decodes");
	ok(strcmp(got.service_id, SVC) == 0 &&
	    strcmp(got.project_slug, "shop-a1b2c3") == 0 &&
	    strcmp(got.service_name, "web") == 0 && !got.stopped &&
	    !got.deleted, "DESIRED: the service's fields");
	ok(got.ndeployments == 2 && got.deployments[0].nenv == 2 &&
	    strcmp(got.deployments[0].env[1].key, "EMPTY") == 0 &&
	    strcmp(got.deployments[0].env[1].value, "") == 0 &&
	    got.deployments[0].nports == 2 &&
	    got.deployments[0].ports[0].host_port == 18080 &&
	    got.deployments[0].ports[1].host_port == 0 &&
	    strcmp(got.deployments[0].ports[1].protocol, "udp") == 0,
	    "DESIRED: env and ports, an absent host port is 0");
	ok(got.deployments[0].memory_mb == 64 &&
	    got.deployments[0].cpu_shares == 512 &&
	    got.deployments[0].replicas == 2 &&
	    got.deployments[0].baseline_restart_count == 3 &&
	    got.deployments[0].active && !got.deployments[1].active &&
	    got.deployments[1].memory_mb == 0 &&
	    got.deployments[1].attempt_count == 2 &&
	    strcmp(got.deployments[1].status, "pending") == 0 &&
	    strcmp(got.deployments[1].image, "busybox:2") == 0,
	    "DESIRED: limits, counters and the active flag");
	ok(got.nvolumes == 1 && strcmp(got.volumes[0].name, "data") == 0 &&
	    strcmp(got.volumes[0].path, "/var/lib/postgresql/data") == 0,
	    "DESIRED: volumes");
	msg_rec_desired_free(&got);

	for (bad = 0, cut = 0; cut < w.len; cut++)
		if (desired_decode(&w, cut, &got) == 0) {
			msg_rec_desired_free(&got);
			bad++;
		}
	ok(bad == 0, "DESIRED: all %zu truncations refused", w.len);
	wbuf_free(&w);

	/* What the reconciler always took: no protocol is tcp. */
	desired_sample(&ds, d, env, ports, &vol);
	ports[1].protocol[0] = '\0';
	wbuf_init(&w, 65536);
	msg_rec_desired_put(&w, &ds);
	ok(desired_decode(&w, w.len, &got) == 0 &&
	    strcmp(got.deployments[0].ports[1].protocol, "tcp") == 0,
	    "DESIRED: an empty protocol is tcp");
	msg_rec_desired_free(&got);
	wbuf_free(&w);

	/* What breaks the contract. */
	desired_sample(&ds, d, env, ports, &vol);
	strlcpy(d[1].status, "failed", sizeof(d[1].status));
	ok(desired_refused(&ds, &got),
	    "DESIRED: a deployment not in flight is refused");

	desired_sample(&ds, d, env, ports, &vol);
	env[1].key = "A=B";
	ok(desired_refused(&ds, &got),
	    "DESIRED: an env name with '=' is refused");

	desired_sample(&ds, d, env, ports, &vol);
	ports[0].container_port = 70000;
	ok(desired_refused(&ds, &got),
	    "DESIRED: a port out of range is refused");

	desired_sample(&ds, d, env, ports, &vol);
	vol.path = "relative";
	ok(desired_refused(&ds, &got),
	    "DESIRED: a relative volume path is refused");

	desired_sample(&ds, d, env, ports, &vol);
	ds.service_id[0] = '\0';
	ok(desired_refused(&ds, &got) && got.service_id[0] == '\0',
	    "DESIRED: an empty service id is refused");

	/*
	 * What the reconciler cannot put into Docker's names and calls;
	 * the refusal keeps the service's id (the reconciler leaves that
	 * service as it is) and says why.
	 */
	desired_sample(&ds, d, env, ports, &vol);
	strlcpy(ds.project_slug, "../etc", sizeof(ds.project_slug));
	ok(desired_refused(&ds, &got) && strcmp(got.service_id, SVC) == 0 &&
	    got.error[0] != '\0' && got.tree == NULL &&
	    got.deployments == NULL,
	    "DESIRED: a slug with '/' is refused, the service id kept");

	desired_sample(&ds, d, env, ports, &vol);
	strlcpy(ds.service_id, "a b", sizeof(ds.service_id));
	ok(desired_refused(&ds, &got) && got.service_id[0] == '\0',
	    "DESIRED: a service id with a space is refused, and not kept");

	desired_sample(&ds, d, env, ports, &vol);
	d[1].image = "--privileged";
	ok(desired_refused(&ds, &got) && strstr(got.error, "image") != NULL,
	    "DESIRED: an image that starts with '-' is refused");

	desired_sample(&ds, d, env, ports, &vol);
	d[0].image = "busybox 1";
	ok(desired_refused(&ds, &got),
	    "DESIRED: an image with a space is refused");

	desired_sample(&ds, d, env, ports, &vol);
	d[1].replicas = 0;
	ok(desired_refused(&ds, &got), "DESIRED: no replicas is refused");

	desired_sample(&ds, d, env, ports, &vol);
	d[0].cpu_shares = MSG_REC_CPU_SHARES_MAX + 1;
	ok(desired_refused(&ds, &got),
	    "DESIRED: more CPU shares than Docker takes are refused");

	desired_sample(&ds, d, env, ports, &vol);
	vol.name = ".hidden";
	ok(desired_refused(&ds, &got),
	    "DESIRED: a volume name starting with '.' is refused");

	desired_sample(&ds, d, env, ports, &vol);
	d[1].nenv = MSG_REC_ENV_MAX + 1;
	if ((d[1].env = calloc(d[1].nenv, sizeof(*d[1].env))) == NULL)
		abort();
	for (cut = 0; cut < d[1].nenv; cut++) {
		d[1].env[cut].key = "K";
		d[1].env[cut].value = "";
	}
	ok(desired_refused(&ds, &got),
	    "DESIRED: more than %d env vars are refused", MSG_REC_ENV_MAX);
	d[1].nenv = MSG_REC_ENV_MAX;
	ok(!desired_refused(&ds, &got),
	    "DESIRED: %d env vars are fine", MSG_REC_ENV_MAX);
	free(d[1].env);

	/* A tree that is not a map. */
	wbuf_init(&w, 64);
	tree_array(&w);
	tree_end(&w);
	ok(desired_decode(&w, w.len, &got) == -1,
	    "DESIRED: an array instead of a map is refused");
	wbuf_free(&w);
}

static int
report_roundtrip(const struct msg_rec_report *in, struct msg_rec_report *out)
{
	struct wbuf	 w;
	struct rbuf	 r;
	int		 rc;

	wbuf_init(&w, 256 * 1024);
	msg_rec_report_put(&w, in);
	rbuf_init(&r, w.buf, w.len);
	rc = w.error ? -1 : msg_rec_report_get(&r, out);
	wbuf_free(&w);
	return (rc);
}

static void
test_report(void)
{
	struct msg_rec_report	 rp, got;
	struct msg_rec_container c[2];
	struct wbuf		 w;
	struct rbuf		 r;
	char			*tail, *reason;
	size_t			 cut;
	int			 bad;

	memset(&rp, 0, sizeof(rp));
	rp.kind = REC_REPORT_STARTING;
	strlcpy(rp.deployment_id, DEP1, sizeof(rp.deployment_id));
	ok(report_roundtrip(&rp, &got) == 0 &&
	    got.kind == REC_REPORT_STARTING &&
	    strcmp(got.deployment_id, DEP1) == 0, "REPORT starting");
	msg_rec_report_free(&got);

	rp.kind = REC_REPORT_ATTEMPT_FAILED;
	rp.reason = "image pull failed: not found";
	ok(report_roundtrip(&rp, &got) == 0 &&
	    got.kind == REC_REPORT_ATTEMPT_FAILED &&
	    strcmp(got.reason, rp.reason) == 0, "REPORT attempt-failed");
	msg_rec_report_free(&got);

	/* A long tail keeps its end, a long reason its start. */
	tail = malloc(MSG_REC_LOG_TAIL_MAX + 100);
	memset(tail, 'x', MSG_REC_LOG_TAIL_MAX + 99);
	tail[MSG_REC_LOG_TAIL_MAX + 99] = '\0';
	tail[MSG_REC_LOG_TAIL_MAX + 98] = 'E';
	tail[0] = 'S';
	reason = malloc(MSG_REC_REASON_MAX + 10);
	memset(reason, 'r', MSG_REC_REASON_MAX + 9);
	reason[MSG_REC_REASON_MAX + 9] = '\0';
	reason[0] = 'B';
	rp.kind = REC_REPORT_FAILED;
	rp.reason = reason;
	rp.log_tail = tail;
	rp.has_exit_code = 1;
	rp.exit_code = 3;
	ok(report_roundtrip(&rp, &got) == 0 && got.kind == REC_REPORT_FAILED &&
	    got.has_exit_code && got.exit_code == 3 &&
	    strlen(got.log_tail) == MSG_REC_LOG_TAIL_MAX &&
	    got.log_tail[MSG_REC_LOG_TAIL_MAX - 1] == 'E' &&
	    strlen(got.reason) == MSG_REC_REASON_MAX && got.reason[0] == 'B',
	    "REPORT failed: exit code, the tail's end, the reason's start");
	msg_rec_report_free(&got);
	free(tail);
	free(reason);

	rp.has_exit_code = 0;
	rp.reason = "container exited";
	rp.log_tail = "";
	ok(report_roundtrip(&rp, &got) == 0 && !got.has_exit_code &&
	    strcmp(got.log_tail, "") == 0,
	    "REPORT failed without an exit code");
	msg_rec_report_free(&got);

	rp.kind = REC_REPORT_HEALTHY;
	rp.baseline_restart_count = 4;
	ok(report_roundtrip(&rp, &got) == 0 &&
	    got.kind == REC_REPORT_HEALTHY &&
	    got.baseline_restart_count == 4, "REPORT healthy");
	msg_rec_report_free(&got);

	rp.kind = REC_REPORT_SERVICE_STATUS;
	strlcpy(rp.service_id, SVC, sizeof(rp.service_id));
	strlcpy(rp.status, "degraded", sizeof(rp.status));
	ok(report_roundtrip(&rp, &got) == 0 &&
	    strcmp(got.service_id, SVC) == 0 &&
	    strcmp(got.status, "degraded") == 0, "REPORT service-status");
	msg_rec_report_free(&got);
	strlcpy(rp.status, "created", sizeof(rp.status));
	ok(report_roundtrip(&rp, &got) == -1,
	    "REPORT service-status: a status the reconciler cannot set");

	memset(c, 0, sizeof(c));
	strlcpy(c[0].docker_id, "abcdef0123456789", sizeof(c[0].docker_id));
	strlcpy(c[0].deployment_id, DEP1, sizeof(c[0].deployment_id));
	strlcpy(c[0].state, "running", sizeof(c[0].state));
	strlcpy(c[1].docker_id, "0123456789abcdef", sizeof(c[1].docker_id));
	strlcpy(c[1].deployment_id, DEP1, sizeof(c[1].deployment_id));
	c[1].replica = 1;
	strlcpy(c[1].state, "restarting", sizeof(c[1].state));
	rp.kind = REC_REPORT_CONTAINERS;
	rp.containers = c;
	rp.ncontainers = 2;
	ok(report_roundtrip(&rp, &got) == 0 && got.ncontainers == 2 &&
	    got.containers[1].replica == 1 &&
	    strcmp(got.containers[1].state, "restarting") == 0 &&
	    strcmp(got.containers[0].docker_id, "abcdef0123456789") == 0,
	    "REPORT containers");
	msg_rec_report_free(&got);

	wbuf_init(&w, 4096);
	msg_rec_report_put(&w, &rp);
	for (bad = 0, cut = 0; cut < w.len; cut++) {
		rbuf_init(&r, w.buf, cut);
		if (msg_rec_report_get(&r, &got) == 0) {
			msg_rec_report_free(&got);
			bad++;
		}
	}
	ok(bad == 0, "REPORT: all %zu truncations refused", w.len);
	wbuf_free(&w);

	/* Unknown kinds and missing fields. */
	wbuf_init(&w, 4096);
	tree_map(&w);
	tree_kv_str(&w, "kind", "exploded");
	tree_kv_str(&w, "deployment_id", DEP1);
	tree_end(&w);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_rec_report_get(&r, &got) == -1, "REPORT: an unknown kind");
	wbuf_free(&w);
	wbuf_init(&w, 4096);
	tree_map(&w);
	tree_kv_str(&w, "kind", "healthy");
	tree_kv_str(&w, "deployment_id", DEP1);
	tree_end(&w);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_rec_report_get(&r, &got) == -1,
	    "REPORT: healthy without its baseline");
	wbuf_free(&w);
}

static void
test_sync_and_queue(void)
{
	struct msg_rec_sync_begin sb, sbg;
	struct msg_rec_sync_end	 se, seg;
	struct msg_rec_project	 p[2];
	struct msg_rec_queue	 q, qg;
	struct wbuf		 w;
	struct rbuf		 r;

	memset(&sb, 0, sizeof(sb));
	strlcpy(sb.instance, PRJ, sizeof(sb.instance));
	sb.sequence = 7;
	wbuf_init(&w, 4096);
	msg_rec_sync_begin_put(&w, &sb);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_rec_sync_begin_get(&r, &sbg) == 0 && sbg.sequence == 7 &&
	    strcmp(sbg.instance, PRJ) == 0, "SYNC_BEGIN round trip");
	wbuf_free(&w);
	/* The instance id goes into label filters. */
	strlcpy(sb.instance, "x\",\"y", sizeof(sb.instance));
	wbuf_init(&w, 4096);
	msg_rec_sync_begin_put(&w, &sb);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_rec_sync_begin_get(&r, &sbg) == -1,
	    "SYNC_BEGIN: an instance id with quotes is refused");
	wbuf_free(&w);

	memset(p, 0, sizeof(p));
	strlcpy(p[0].id, PRJ, sizeof(p[0].id));
	strlcpy(p[0].slug, "shop-a1b2c3", sizeof(p[0].slug));
	strlcpy(p[1].id, SVC, sizeof(p[1].id));
	strlcpy(p[1].slug, "blog-000000", sizeof(p[1].slug));
	se.sequence = 7;
	se.projects = p;
	se.nprojects = 2;
	wbuf_init(&w, 4096);
	msg_rec_sync_end_put(&w, &se);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_rec_sync_end_get(&r, &seg) == 0 && seg.nprojects == 2 &&
	    strcmp(seg.projects[1].slug, "blog-000000") == 0,
	    "SYNC_END round trip");
	msg_rec_sync_end_free(&seg);
	wbuf_free(&w);

	/* A slug names a network: dk-<slug>. */
	strlcpy(p[1].slug, "a/b", sizeof(p[1].slug));
	wbuf_init(&w, 4096);
	msg_rec_sync_end_put(&w, &se);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_rec_sync_end_get(&r, &seg) == -1 && seg.projects == NULL,
	    "SYNC_END: a slug with '/' is refused");
	wbuf_free(&w);

	se.nprojects = 0;
	wbuf_init(&w, 4096);
	msg_rec_sync_end_put(&w, &se);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_rec_sync_end_get(&r, &seg) == 0 && seg.nprojects == 0,
	    "SYNC_END without projects");
	msg_rec_sync_end_free(&seg);
	wbuf_free(&w);

	q.in_flight = 4;
	q.waiting = 10;
	q.backing_off = 1;
	q.services = 200;
	wbuf_init(&w, 4096);
	msg_rec_queue_put(&w, &q);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_rec_queue_get(&r, &qg) == 0 && qg.in_flight == 4 &&
	    qg.waiting == 10 && qg.backing_off == 1 && qg.services == 200,
	    "QUEUE round trip");
	wbuf_free(&w);
	q.waiting = -1;
	wbuf_init(&w, 4096);
	msg_rec_queue_put(&w, &q);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_rec_queue_get(&r, &qg) == -1, "QUEUE: a negative count");
	wbuf_free(&w);
}

/* IMSG_REC_LOGMARK as the reconciler reads it. */
static void
test_logmark(void)
{
	struct msg_logmark	 m, got;
	struct wbuf		 w;
	struct rbuf		 r;

	memset(&m, 0, sizeof(m));
	strlcpy(m.container_id, "ab12cd34ef56ab12cd34ef56",
	    sizeof(m.container_id));
	strlcpy(m.last, "2026-01-02T03:04:05.123456789Z", sizeof(m.last));
	strlcpy(m.last_unix, "1767323045.123456789", sizeof(m.last_unix));
	wbuf_init(&w, 4096);
	msg_logmark_put(&w, &m);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_logmark_get(&r, &got) == 0 &&
	    strcmp(got.last, m.last) == 0 &&
	    strcmp(got.last_unix, m.last_unix) == 0, "LOGMARK round trip");
	wbuf_free(&w);

	/* The contract's tree: no last_unix. */
	wbuf_init(&w, 4096);
	tree_map(&w);
	tree_kv_str(&w, "container_id", m.container_id);
	tree_kv_str(&w, "last", m.last);
	tree_end(&w);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_logmark_get(&r, &got) == 0 && got.last_unix[0] == '\0' &&
	    strcmp(got.container_id, m.container_id) == 0,
	    "LOGMARK without last_unix");
	wbuf_free(&w);

	strlcpy(m.last, "now; rm -rf /", sizeof(m.last));
	wbuf_init(&w, 4096);
	msg_logmark_put(&w, &m);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_logmark_get(&r, &got) == -1, "LOGMARK: a time that is none");
	wbuf_free(&w);
}

int
main(void)
{
	plan(43);
	test_desired();
	test_report();
	test_sync_and_queue();
	test_logmark();
	return (done_testing());
}
