/* routes.c - the whole surface of b4-checkout (under /checkout). Public. */
#include "checkout.h"

void checkout_offer_get(struct b4_req *req);
void checkout_offer_installments(struct b4_req *req);
void checkout_offer_coupon(struct b4_req *req);
void checkout_session_create(struct b4_req *req);
void checkout_event_create(struct b4_req *req);
void checkout_card_token_create(struct b4_req *req);
void checkout_order_create(struct b4_req *req);
void checkout_order_get(struct b4_req *req);
void checkout_order_delivery(struct b4_req *req);
void checkout_order_upsell(struct b4_req *req);
void checkout_callback(struct b4_req *req);
void checkout_session_update(struct b4_req *req);
void checkout_image_get(struct b4_req *req);

const struct b4_route checkout_routes[] = {
    {"GET", "/v1/offers/:code", checkout_offer_get, B4_ROLE_PUBLIC},
    {"GET", "/v1/offers/:code/installments", checkout_offer_installments, B4_ROLE_PUBLIC},
    {"GET", "/v1/offers/:code/coupons/:coupon", checkout_offer_coupon, B4_ROLE_PUBLIC},
    {"POST", "/v1/sessions", checkout_session_create, B4_ROLE_PUBLIC},
    {"PATCH", "/v1/sessions/:id", checkout_session_update, B4_ROLE_PUBLIC},
    {"POST", "/v1/events", checkout_event_create, B4_ROLE_PUBLIC},
    {"POST", "/v1/card-tokens", checkout_card_token_create, B4_ROLE_PUBLIC},
    {"POST", "/v1/orders", checkout_order_create, B4_ROLE_PUBLIC},
    {"GET", "/v1/orders/:id", checkout_order_get, B4_ROLE_PUBLIC},
    {"POST", "/v1/orders/:id/upsell", checkout_order_upsell, B4_ROLE_PUBLIC},
    {"GET", "/v1/orders/:id/delivery", checkout_order_delivery, B4_ROLE_PUBLIC},
    {"GET", "/v1/images/:name", checkout_image_get, B4_ROLE_PUBLIC},
    {"POST", "/v1/acquirers/:name/callbacks", checkout_callback, B4_ROLE_PUBLIC},
};
const size_t checkout_nroutes = sizeof(checkout_routes) / sizeof(checkout_routes[0]);
