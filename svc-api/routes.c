/* routes.c - the whole surface of b4-api (served under /api by the gateway).
 * Literal segments come before parameters at the same place (first match
 * wins): /v1/sales/summary before /v1/sales/:id. */
#include "api.h"

const struct b4_route api_routes[] = {
    {"POST", "/v1/auth/signup", api_signup, B4_ROLE_PUBLIC},
    {"POST", "/v1/auth/login", api_login, B4_ROLE_PUBLIC},
    {"POST", "/v1/auth/refresh", api_refresh, B4_ROLE_PUBLIC},
    {"POST", "/v1/auth/logout", api_logout, B4_ROLE_PUBLIC},
    {"GET", "/v1/me", api_me, B4_ROLE_MEMBER},

    {"POST", "/v1/products", api_product_create, B4_ROLE_MEMBER},
    {"GET", "/v1/products", api_product_list, B4_ROLE_MEMBER},
    {"GET", "/v1/products/:id", api_product_get, B4_ROLE_MEMBER},
    {"PATCH", "/v1/products/:id", api_product_update, B4_ROLE_MEMBER},
    {"DELETE", "/v1/products/:id", api_product_delete, B4_ROLE_MEMBER},
    {"PUT", "/v1/products/:id/image", api_product_image_put, B4_ROLE_MEMBER},

    {"POST", "/v1/products/:id/offers", api_offer_create, B4_ROLE_MEMBER},
    {"GET", "/v1/products/:id/offers", api_offer_list, B4_ROLE_MEMBER},
    {"GET", "/v1/offers/:id", api_offer_get, B4_ROLE_MEMBER},
    {"PATCH", "/v1/offers/:id", api_offer_update, B4_ROLE_MEMBER},
    {"PUT", "/v1/offers/:id/bumps", api_offer_bumps, B4_ROLE_MEMBER},
    {"PUT", "/v1/offers/:id/upsell", api_offer_upsell, B4_ROLE_MEMBER},

    {"POST", "/v1/products/:id/coproducers", api_coproducer_create, B4_ROLE_MEMBER},
    {"GET", "/v1/products/:id/coproducers", api_coproducer_list, B4_ROLE_MEMBER},
    {"DELETE", "/v1/products/:id/coproducers/:coproducer_id", api_coproducer_delete,
     B4_ROLE_MEMBER},

    {"POST", "/v1/products/:id/coupons", api_coupon_create, B4_ROLE_MEMBER},
    {"GET", "/v1/products/:id/coupons", api_coupon_list, B4_ROLE_MEMBER},
    {"GET", "/v1/coupons/:id", api_coupon_get, B4_ROLE_MEMBER},
    {"PATCH", "/v1/coupons/:id", api_coupon_update, B4_ROLE_MEMBER},

    {"GET", "/v1/marketplace", api_marketplace, B4_ROLE_MEMBER},
    {"POST", "/v1/products/:id/affiliations", api_affiliation_request, B4_ROLE_MEMBER},
    {"GET", "/v1/affiliations", api_affiliation_list, B4_ROLE_MEMBER},
    {"POST", "/v1/affiliations/:id/approve", api_affiliation_approve, B4_ROLE_MEMBER},
    {"POST", "/v1/affiliations/:id/reject", api_affiliation_reject, B4_ROLE_MEMBER},
    {"GET", "/v1/affiliations/:id/links", api_affiliation_links, B4_ROLE_MEMBER},

    {"POST", "/v1/campaigns", api_campaign_create, B4_ROLE_MEMBER},
    {"GET", "/v1/campaigns", api_campaign_list, B4_ROLE_MEMBER},
    {"GET", "/v1/campaigns/:id", api_campaign_get, B4_ROLE_MEMBER},
    {"PATCH", "/v1/campaigns/:id", api_campaign_update, B4_ROLE_MEMBER},
    {"DELETE", "/v1/campaigns/:id", api_campaign_delete, B4_ROLE_MEMBER},

    {"POST", "/v1/webhooks", api_webhook_create, B4_ROLE_MEMBER},
    {"GET", "/v1/webhooks", api_webhook_list, B4_ROLE_MEMBER},
    {"GET", "/v1/webhooks/:id", api_webhook_get, B4_ROLE_MEMBER},
    {"PATCH", "/v1/webhooks/:id", api_webhook_update, B4_ROLE_MEMBER},
    {"DELETE", "/v1/webhooks/:id", api_webhook_delete, B4_ROLE_MEMBER},
    {"GET", "/v1/webhooks/:id/deliveries", api_webhook_deliveries, B4_ROLE_MEMBER},
    {"POST", "/v1/webhooks/:id/deliveries/:delivery_id/resend", api_webhook_resend, B4_ROLE_MEMBER},

    {"GET", "/v1/sales", api_sales_list, B4_ROLE_MEMBER},
    {"GET", "/v1/sales/summary", api_sales_summary, B4_ROLE_MEMBER},
    {"POST", "/v1/sales/exports", api_export_create, B4_ROLE_MEMBER},
    {"GET", "/v1/sales/exports/:id", api_export_get, B4_ROLE_MEMBER},
    {"GET", "/v1/sales/exports/:id/download", api_export_download, B4_ROLE_MEMBER},
    {"GET", "/v1/sales/:id", api_sale_get, B4_ROLE_MEMBER},
    {"POST", "/v1/sales/:id/refund", api_sale_refund, B4_ROLE_MEMBER},
    {"GET", "/v1/balance", api_balance, B4_ROLE_MEMBER},
    {"GET", "/v1/dashboard/charts", api_dashboard_charts, B4_ROLE_MEMBER},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
