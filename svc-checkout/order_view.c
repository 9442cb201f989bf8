/* order_view.c - the checkout metrics (the order itself: b4/orders.h). */
#include "checkout.h"
#include "b4/db.h"
#include "b4/metrics.h"
#include "b4/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct b4_metric *m_started, *m_succeeded, *m_value;

void checkout_metrics_init(void)
{
	static const char *const labels[] = {"payment_method", NULL};

	m_started = b4_metrics_counter("api_checkouts_started_total",
				       "Orders submitted to checkout (valid input)", labels);
	m_succeeded =
	    b4_metrics_counter("api_checkouts_succeeded_total",
			       "Orders paid (card approved or Pix/boleto confirmed)", labels);
	m_value = b4_metrics_counter("api_checkout_value_total", "Value of paid orders, in cents",
				     labels);
}

void checkout_metric_started(const char *method)
{
	const char *v[] = {method};

	if (m_started)
		b4_metrics_add(m_started, v, 1);
}

void checkout_metric_succeeded(const char *method, int64_t total_cents)
{
	const char *v[] = {method};

	if (m_succeeded)
		b4_metrics_add(m_succeeded, v, 1);
	if (m_value)
		b4_metrics_add(m_value, v, (double)total_cents);
}
