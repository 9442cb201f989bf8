/* Unit tests for libcommon/src/orderfsm.c: the state tables of orders,
 * charges and refunds, checked against the moves API.md allows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "b4/charges.h"
#include "b4/orderfsm.h"

#define O(s) B4_ORDER_##s
#define C(s) B4_CHARGE_##s

/* API.md: waiting_payment -> paid | expired | refused; paid ->
 * refund_requested -> refunded (or back to paid); paid -> disputed ->
 * chargeback | paid.  Nothing else. */
static const struct {
	enum b4_order_state from, to;
} order_allowed[] = {
    {O(WAITING_PAYMENT), O(PAID)},
    {O(WAITING_PAYMENT), O(EXPIRED)},
    {O(WAITING_PAYMENT), O(REFUSED)},
    {O(PAID), O(REFUND_REQUESTED)},
    {O(REFUND_REQUESTED), O(REFUNDED)},
    {O(REFUND_REQUESTED), O(PAID)},
    {O(PAID), O(DISPUTED)},
    {O(DISPUTED), O(CHARGEBACK)},
    {O(DISPUTED), O(PAID)},
};

static bool order_listed(enum b4_order_state from, enum b4_order_state to)
{
	for (size_t i = 0; i < sizeof(order_allowed) / sizeof(order_allowed[0]); i++)
		if (order_allowed[i].from == from && order_allowed[i].to == to)
			return true;
	return false;
}

static void test_order_table_is_api_md(void **state)
{
	(void)state;
	for (int from = 0; from < B4_ORDER_STATE_COUNT; from++)
		for (int to = 0; to < B4_ORDER_STATE_COUNT; to++)
			assert_int_equal(
			    b4_order_move_allowed((enum b4_order_state)from,
						  (enum b4_order_state)to),
			    order_listed((enum b4_order_state)from, (enum b4_order_state)to));
}

static void test_final_states_have_no_moves(void **state)
{
	const enum b4_order_state finals[] = {O(REFUSED), O(EXPIRED), O(REFUNDED), O(CHARGEBACK)};
	(void)state;
	for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++)
		for (int to = 0; to < B4_ORDER_STATE_COUNT; to++)
			assert_false(b4_order_move_allowed(finals[i], (enum b4_order_state)to));
	/* a chargeback never skips the dispute, a refund never skips its request */
	assert_false(b4_order_move_allowed(O(PAID), O(CHARGEBACK)));
	assert_false(b4_order_move_allowed(O(PAID), O(REFUNDED)));
	assert_false(b4_order_move_allowed(O(WAITING_PAYMENT), O(REFUND_REQUESTED)));
	/* out of range is refused, not read past the table */
	assert_false(b4_order_move_allowed((enum b4_order_state) - 1, O(PAID)));
	assert_false(b4_order_move_allowed(O(PAID), B4_ORDER_STATE_COUNT));
}

static void test_names_round_trip(void **state)
{
	static const char *const api_md[] = {
	    "waiting_payment",	"paid",	    "refused",	"expired",
	    "refund_requested", "refunded", "disputed", "chargeback"};
	(void)state;
	assert_int_equal(B4_ORDER_STATE_COUNT, 8);
	for (int s = 0; s < B4_ORDER_STATE_COUNT; s++) {
		assert_string_equal(b4_order_state_name((enum b4_order_state)s), api_md[s]);
		assert_int_equal(b4_order_state_parse(api_md[s]), s);
	}
	for (int s = 0; s < B4_CHARGE_STATE_COUNT; s++)
		assert_int_equal(
		    b4_charge_state_parse(b4_charge_state_name((enum b4_charge_state)s)), s);
	assert_int_equal(b4_order_state_parse("Paid"), -1);
	assert_int_equal(b4_order_state_parse(NULL), -1);
	assert_null(b4_order_state_name(B4_ORDER_STATE_COUNT));
}

static void test_live_states(void **state)
{
	(void)state;
	assert_true(b4_order_state_is_live(O(WAITING_PAYMENT)));
	assert_true(b4_order_state_is_live(O(PAID)));
	assert_true(b4_order_state_is_live(O(REFUND_REQUESTED)));
	assert_true(b4_order_state_is_live(O(DISPUTED)));
	assert_false(b4_order_state_is_live(O(REFUSED)));
	assert_false(b4_order_state_is_live(O(EXPIRED)));
	assert_false(b4_order_state_is_live(O(REFUNDED)));
	assert_false(b4_order_state_is_live(O(CHARGEBACK)));
}

static void test_charge_table(void **state)
{
	(void)state;
	assert_true(b4_charge_move_allowed(C(PENDING), C(APPROVED)));
	assert_true(b4_charge_move_allowed(C(PENDING), C(DECLINED)));
	assert_true(b4_charge_move_allowed(C(PENDING), C(ERROR)));
	assert_true(b4_charge_move_allowed(C(APPROVED), C(PARTIALLY_REFUNDED)));
	assert_true(b4_charge_move_allowed(C(PARTIALLY_REFUNDED), C(PARTIALLY_REFUNDED)));
	assert_true(b4_charge_move_allowed(C(PARTIALLY_REFUNDED), C(REFUNDED)));
	assert_true(b4_charge_move_allowed(C(APPROVED), C(CHARGEBACK)));
	/* what was declined was never charged; refunded money stays refunded */
	for (int to = 0; to < B4_CHARGE_STATE_COUNT; to++) {
		assert_false(b4_charge_move_allowed(C(DECLINED), (enum b4_charge_state)to));
		assert_false(b4_charge_move_allowed(C(ERROR), (enum b4_charge_state)to));
		assert_false(b4_charge_move_allowed(C(REFUNDED), (enum b4_charge_state)to));
		assert_false(b4_charge_move_allowed(C(CHARGEBACK), (enum b4_charge_state)to));
	}
	assert_false(b4_charge_move_allowed(C(PENDING), C(REFUNDED)));
	assert_false(b4_charge_move_allowed(C(APPROVED), C(PENDING)));
}

static void test_refund_table(void **state)
{
	(void)state;
	assert_true(b4_refund_move_allowed(B4_REFUND_REQUESTED, B4_REFUND_SUCCEEDED));
	assert_true(b4_refund_move_allowed(B4_REFUND_REQUESTED, B4_REFUND_FAILED));
	assert_true(b4_refund_move_allowed(B4_REFUND_PROCESSING, B4_REFUND_SUCCEEDED));
	assert_false(b4_refund_move_allowed(B4_REFUND_SUCCEEDED, B4_REFUND_FAILED));
	assert_false(b4_refund_move_allowed(B4_REFUND_FAILED, B4_REFUND_SUCCEEDED));
	assert_false(b4_refund_move_allowed(B4_REFUND_SUCCEEDED, B4_REFUND_REQUESTED));
}

/* One reading of acquirer answers (b4/charges.h). */
static void test_charge_answers(void **state)
{
	struct b4_httpc_response resp;
	cJSON *approved = cJSON_Parse("{\"status\":\"approved\"}");
	cJSON *paid = cJSON_Parse("{\"status\":\"paid\"}");
	cJSON *declined = cJSON_Parse("{\"status\":\"declined\"}");
	cJSON *pending = cJSON_Parse("{\"status\":\"pending\"}");
	(void)state;

	memset(&resp, 0, sizeof(resp));
	resp.status = 201;
	assert_int_equal(b4_charge_classify(0, &resp, approved, "card"), B4_ANSWER_APPROVED);
	assert_int_equal(b4_charge_classify(0, &resp, paid, "pix"), B4_ANSWER_APPROVED);
	assert_int_equal(b4_charge_classify(0, &resp, declined, "card"), B4_ANSWER_DECLINED);
	assert_int_equal(b4_charge_classify(0, &resp, pending, "pix"), B4_ANSWER_PENDING);
	/* a card is never pending: its outcome is unknown until asked */
	assert_int_equal(b4_charge_classify(0, &resp, pending, "card"), B4_ANSWER_UNKNOWN);
	assert_int_equal(b4_charge_classify(0, &resp, NULL, "card"), B4_ANSWER_UNKNOWN);
	resp.status = 402;
	assert_int_equal(b4_charge_classify(0, &resp, NULL, "card"), B4_ANSWER_DECLINED);
	resp.status = 429;
	assert_int_equal(b4_charge_classify(0, &resp, NULL, "card"), B4_ANSWER_UNKNOWN);
	/* 5xx after sending: maybe charged, ask by reference */
	resp.status = 500;
	assert_int_equal(b4_charge_classify(0, &resp, NULL, "card"), B4_ANSWER_UNKNOWN);
	resp.status = 503;
	assert_int_equal(b4_charge_classify(0, &resp, NULL, "pix"), B4_ANSWER_UNKNOWN);
	/* no answer: unknown after sending (timeout, reset), unavailable
	 * when nothing left (connection refused) */
	resp.status = 0;
	resp.not_sent = false;
	assert_int_equal(b4_charge_classify(-1, &resp, NULL, "card"), B4_ANSWER_UNKNOWN);
	resp.not_sent = true;
	assert_int_equal(b4_charge_classify(-1, &resp, NULL, "card"), B4_ANSWER_UNAVAILABLE);
	cJSON_Delete(approved);
	cJSON_Delete(paid);
	cJSON_Delete(declined);
	cJSON_Delete(pending);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_table_is_api_md),
	    cmocka_unit_test(test_final_states_have_no_moves),
	    cmocka_unit_test(test_names_round_trip),
	    cmocka_unit_test(test_live_states),
	    cmocka_unit_test(test_charge_table),
	    cmocka_unit_test(test_refund_table),
	    cmocka_unit_test(test_charge_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
