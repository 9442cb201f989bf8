/* page_cache.c - the offer pages' answers and offers, reused for a short
 * while.
 *
 * A launch sends every buyer to one offer page (GET /v1/offers/:code),
 * and each answer costs four reads (the offer, its bumps, the product's
 * page fields, the upsell).  The answer depends only on the offer's rows
 * and this process's settings, so it is kept here for page_cache_ms and
 * sent again as it was: a producer's change shows on the page within that
 * time.  The page's other public calls (sessions, funnel events, the
 * installment table, coupon checks) take the offer itself from here the
 * same way.  Orders never read from here; they price and split from the
 * rows.
 *
 * A fixed table of slots, one per hash of the offer code, a newer answer
 * replacing whatever sat in its slot: the memory stays bounded (slots x
 * one page) whatever codes are asked for, and only found offers' answers
 * are stored, so unknown codes cannot push the launch's offer out.
 *
 * Codes without a live offer get their 404 again for the same time, from
 * a table of their own: a launch's link with a typo, or an offer just
 * taken down, costs one read a second per process instead of one per
 * visitor, and asking for unknown codes still never evicts a found one.
 */
#include "checkout.h"
#include "b4/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_SLOTS    256
#define PAGE_KEY_MAX  32
#define PAGE_BODY_MAX (256 * 1024)

/* Whose a slot is and until when, in every table. */
struct slot_head {
	char key[PAGE_KEY_MAX + 1]; /* "" free */
	int64_t expires_ms;	    /* CLOCK_MONOTONIC */
};

struct page_slot {
	struct slot_head h;
	char *body;
	size_t len;
};

struct offer_slot {
	struct slot_head h;
	struct checkout_offer offer;
};

static pthread_mutex_t page_lock = PTHREAD_MUTEX_INITIALIZER;
static struct page_slot page_slots[PAGE_SLOTS];
static struct offer_slot offer_slots[PAGE_SLOTS];
static struct slot_head miss_slots[PAGE_SLOTS]; /* codes without a live offer */
static struct b4_metric *m_answers;

void checkout_page_cache_init(void)
{
	static const char *const labels[] = {"source", NULL};

	m_answers =
	    b4_metrics_counter("checkout_offer_page_answers_total",
			       "Offer page answers, by source: kept (reused) or read", labels);
}

static void count(const char *source)
{
	const char *v[] = {source};

	if (m_answers)
		b4_metrics_add(m_answers, v, 1);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The slot of key (FNV-1a) in a table of PAGE_SLOTS, or -1 when key is
 * too long to keep. */
static int slot_of(const char *key)
{
	uint32_t h = 2166136261u;
	size_t n = key ? strlen(key) : 0;

	if (n == 0 || n > PAGE_KEY_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return (int)(h % PAGE_SLOTS);
}

/* key's slot when this process keeps answers, else -1. */
static int cache_slot(const struct b4_req *req, const char *key)
{
	const struct checkout_app *app = req->app;

	return app->page_cache_ms > 0 ? slot_of(key) : -1;
}

/* Does h hold key, still fresh?  page_lock held. */
static bool slot_holds(const struct slot_head *h, const char *key)
{
	return strcmp(h->key, key) == 0 && now_ms() < h->expires_ms;
}

/* h is key's for the page cache's time.  page_lock held. */
static void slot_take(struct slot_head *h, const struct b4_req *req, const char *key)
{
	const struct checkout_app *app = req->app;

	snprintf(h->key, sizeof(h->key), "%s", key);
	h->expires_ms = now_ms() + app->page_cache_ms;
}

int checkout_offer_kept(struct b4_req *req, const char *code, struct checkout_offer *out)
{
	int i = cache_slot(req, code), found;
	bool kept = false;

	if (i >= 0) {
		pthread_mutex_lock(&page_lock);
		if (slot_holds(&offer_slots[i].h, code)) {
			*out = offer_slots[i].offer;
			kept = true;
		}
		pthread_mutex_unlock(&page_lock);
	}
	if (kept)
		return 1;
	found = checkout_offer_load(req->db, code, false, out, NULL);
	if (found == 1 && i >= 0) {
		pthread_mutex_lock(&page_lock);
		slot_take(&offer_slots[i].h, req, code);
		offer_slots[i].offer = *out;
		pthread_mutex_unlock(&page_lock);
	}
	return found;
}

bool checkout_page_cache_answer(struct b4_req *req, const char *key)
{
	int i = cache_slot(req, key);
	struct page_slot *slot = i >= 0 ? &page_slots[i] : NULL;
	char *copy = NULL;
	size_t len = 0;
	bool missing = false;

	if (!slot)
		return false;
	pthread_mutex_lock(&page_lock);
	if (slot->body && slot_holds(&slot->h, key)) {
		len = slot->len;
		copy = b4_arena_alloc(req->arena, len ? len : 1);
		if (copy)
			memcpy(copy, slot->body, len);
	} else {
		missing = slot_holds(&miss_slots[i], key);
	}
	pthread_mutex_unlock(&page_lock);
	if (missing) {
		count("kept");
		b4_req_not_found(req, "offer");
		return true;
	}
	if (!copy)
		return false;
	count("kept");
	b4_req_send(req, 200, "application/json", copy, len);
	return true;
}

void checkout_page_cache_missing(struct b4_req *req, const char *key)
{
	int i = cache_slot(req, key);

	count("read");
	if (i < 0)
		return;
	pthread_mutex_lock(&page_lock);
	slot_take(&miss_slots[i], req, key);
	pthread_mutex_unlock(&page_lock);
}

void checkout_page_cache_send(struct b4_req *req, const char *key, cJSON *body)
{
	int i = cache_slot(req, key);
	struct page_slot *slot = i >= 0 ? &page_slots[i] : NULL;
	char *text = cJSON_PrintUnformatted(body);
	size_t len = text ? strlen(text) : 0;
	char *kept = slot && text && len <= PAGE_BODY_MAX ? malloc(len + 1) : NULL;
	char *old = NULL;

	cJSON_Delete(body);
	if (!text) {
		b4_req_errorf(req, 500, "api_error", "internal_error", NULL, "Out of memory.");
		return;
	}
	if (kept) {
		memcpy(kept, text, len + 1);
		pthread_mutex_lock(&page_lock);
		old = slot->body;
		slot_take(&slot->h, req, key);
		slot->body = kept;
		slot->len = len;
		pthread_mutex_unlock(&page_lock);
		free(old);
	}
	count("read");
	b4_req_send(req, 200, "application/json", text, len);
	free(text);
}

void checkout_page_cache_cleanup(void)
{
	pthread_mutex_lock(&page_lock);
	for (size_t i = 0; i < PAGE_SLOTS; i++) {
		free(page_slots[i].body);
		memset(&page_slots[i], 0, sizeof(page_slots[i]));
		memset(&offer_slots[i], 0, sizeof(offer_slots[i]));
		memset(&miss_slots[i], 0, sizeof(miss_slots[i]));
	}
	pthread_mutex_unlock(&page_lock);
}
