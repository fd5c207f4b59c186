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
#include <sys/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "reconciler.h"

/*
 * Images, checked and pulled apart from the passes (spec 13.2 "image
 * pre-flight", 13.4): a pass asks for an image and goes on; the check
 * and the pull run on their own, and the services waiting for the
 * image are queued again when it is there or has failed.  So a pull
 * that hangs holds no worker of the queue and delays no other service.
 * A failure is a numbered generation, reported once per deployment
 * (an attempt of spec 10.3); the next pull waits for a backoff.  Docker
 * being away is no attempt: the image is simply asked about again.
 */

enum img_state {
	I_UNKNOWN,
	I_CHECKING,
	I_PULLING,
	I_PRESENT,
	I_FAILED,
};

struct image {
	RB_ENTRY(image)	 entry;
	char		*ref;
	enum img_state	 state;
	unsigned	 gen;		/* failures so far */
	int		 failures;	/* in a row */
	uint64_t	 retry_at;	/* monotonic ms */
	char		 err[DRV_ERR_MAX + 32];
	char		**waiters;	/* service ids */
	size_t		 nwaiters;
};

RB_HEAD(images, image);

static int	image_cmp(struct image *, struct image *);
RB_PROTOTYPE_STATIC(images, image, entry, image_cmp)
RB_GENERATE_STATIC(images, image, entry, image_cmp)

static struct images	 images = RB_INITIALIZER(&images);
static int		 nbusy;

static void	image_checked(const struct drv_res *, void *);
static void	image_pulled(const struct drv_res *, void *);

static int
image_cmp(struct image *a, struct image *b)
{
	return (strcmp(a->ref, b->ref));
}

static struct image *
image_get(const char *ref)
{
	struct image	 k, *im;

	k.ref = (char *)ref;
	if ((im = RB_FIND(images, &images, &k)) != NULL)
		return (im);
	if ((im = calloc(1, sizeof(*im))) == NULL ||
	    (im->ref = strdup(ref)) == NULL)
		fatal("%s", __func__);
	RB_INSERT(images, &images, im);
	return (im);
}

static void
image_wait(struct image *im, const char *svc_id)
{
	size_t	 i;
	char	**w;

	for (i = 0; i < im->nwaiters; i++)
		if (strcmp(im->waiters[i], svc_id) == 0)
			return;
	if ((w = reallocarray(im->waiters, im->nwaiters + 1,
	    sizeof(*w))) == NULL)
		fatal("%s", __func__);
	im->waiters = w;
	if ((im->waiters[im->nwaiters] = strdup(svc_id)) == NULL)
		fatal("%s", __func__);
	im->nwaiters++;
}

/* The image is settled: its services go through a pass again. */
static void
image_wake(struct image *im)
{
	size_t	 i;

	for (i = 0; i < im->nwaiters; i++) {
		queue_add(rec->q, im->waiters[i]);
		free(im->waiters[i]);
	}
	free(im->waiters);
	im->waiters = NULL;
	im->nwaiters = 0;
}

/* Failed: a new generation, tried again after a backoff. */
static void
image_failed(struct image *im, const char *err)
{
	im->state = I_FAILED;
	im->gen++;
	im->failures++;
	im->retry_at = queue_now_ms() + queue_backoff_ms(im->failures);
	(void)snprintf(im->err, sizeof(im->err), "image pull failed: %s", err);
}

static void
image_check(struct image *im)
{
	im->state = I_CHECKING;
	nbusy++;
	rec->drv->image_inspect(im->ref, image_checked, im);
}

static void
image_checked(const struct drv_res *res, void *arg)
{
	struct image	*im = arg;

	switch (res->code) {
	case DRV_OK:
		nbusy--;
		im->state = I_PRESENT;
		im->failures = 0;
		image_wake(im);
		return;
	case DRV_NOTFOUND:
		log_info("pulling image %s", im->ref);
		im->state = I_PULLING;
		rec->drv->image_pull(im->ref, image_pulled, im);
		return;
	case DRV_UNREACHABLE:
		nbusy--;
		im->state = I_UNKNOWN;
		rec_docker_trouble();
		image_wake(im);
		return;
	default:
		nbusy--;
		image_failed(im, res->err);
		image_wake(im);
		return;
	}
}

static void
image_pulled(const struct drv_res *res, void *arg)
{
	struct image	*im = arg;

	nbusy--;
	if (res->code == DRV_OK) {
		log_info("pulled image %s", im->ref);
		im->state = I_PRESENT;
		im->failures = 0;
	} else if (res->code == DRV_UNREACHABLE &&
	    strstr(res->err, "cannot connect") != NULL) {
		im->state = I_UNKNOWN;
		rec_docker_trouble();
	} else {
		image_failed(im, res->err);
		log_info("image %s: %s", im->ref, im->err);
	}
	image_wake(im);
}

/*
 * Where ref stands for the service svc_id.  IMG_FAILED comes with a
 * failure not yet seen (its generation > *gen, which is updated, and
 * the reason in err).  IMG_WAITING means the service is queued again
 * when there is news; *retry_ms, when not 0, is when to look again.
 */
enum image_state
image_want(const char *ref, const char *svc_id, unsigned *gen, char *err,
    size_t errlen, uint64_t *retry_ms)
{
	struct image	*im = image_get(ref);
	uint64_t	 now;

	*retry_ms = 0;
	switch (im->state) {
	case I_PRESENT:
		return (IMG_PRESENT);
	case I_CHECKING:
	case I_PULLING:
		image_wait(im, svc_id);
		return (IMG_WAITING);
	case I_FAILED:
		if (im->gen > *gen) {
			*gen = im->gen;
			strlcpy(err, im->err, errlen);
			now = queue_now_ms();
			*retry_ms = im->retry_at > now ? im->retry_at - now : 1;
			return (IMG_FAILED);
		}
		now = queue_now_ms();
		if (now < im->retry_at) {
			*retry_ms = im->retry_at - now;
			return (IMG_WAITING);
		}
		break;
	case I_UNKNOWN:
		break;
	}
	image_wait(im, svc_id);
	image_check(im);
	return (IMG_WAITING);
}

/* The engine says the image is gone after all: check it next time. */
void
image_forget(const char *ref)
{
	struct image	 k, *im;

	k.ref = (char *)ref;
	if ((im = RB_FIND(images, &images, &k)) != NULL &&
	    im->state == I_PRESENT)
		im->state = I_UNKNOWN;
}

/* Checks and pulls under way. */
int
image_busy(void)
{
	return (nbusy);
}
