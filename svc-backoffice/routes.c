/* routes.c - the whole surface of b4-backoffice (under /backoffice through
 * the gateway).  Every route needs the admin role. */
#include "backoffice.h"

const struct b4_route backoffice_routes[] = {
    {"GET", "/v1/users", bo_users_list, B4_ROLE_ADMIN},
    {"GET", "/v1/users/:id", bo_users_get, B4_ROLE_ADMIN},
    {"POST", "/v1/users/:id/block", bo_users_block, B4_ROLE_ADMIN},
    {"POST", "/v1/users/:id/unblock", bo_users_unblock, B4_ROLE_ADMIN},
    {"POST", "/v1/users/:id/role", bo_users_role, B4_ROLE_ADMIN},
    {"GET", "/v1/products", bo_products_list, B4_ROLE_ADMIN},
    {"POST", "/v1/products/:id/block", bo_products_block, B4_ROLE_ADMIN},
    {"POST", "/v1/products/:id/unblock", bo_products_unblock, B4_ROLE_ADMIN},
    {"GET", "/v1/orders", bo_orders_list, B4_ROLE_ADMIN},
    {"GET", "/v1/orders/:id", bo_orders_get, B4_ROLE_ADMIN},
    {"POST", "/v1/orders/:id/refunds", bo_refunds_create, B4_ROLE_ADMIN},
    {"GET", "/v1/affiliations", bo_affiliations_list, B4_ROLE_ADMIN},
    {"POST", "/v1/affiliations/:id/approve", bo_affiliations_approve, B4_ROLE_ADMIN},
    {"POST", "/v1/affiliations/:id/reject", bo_affiliations_reject, B4_ROLE_ADMIN},
    {"GET", "/v1/webhook-deliveries", bo_deliveries_list, B4_ROLE_ADMIN},
    {"POST", "/v1/webhook-deliveries/:id/resend", bo_deliveries_resend, B4_ROLE_ADMIN},
    {"GET", "/v1/jobs", bo_jobs_list, B4_ROLE_ADMIN},
    {"POST", "/v1/jobs/:id/retry", bo_jobs_retry, B4_ROLE_ADMIN},
    {"GET", "/v1/analytics/sales", bo_analytics_sales, B4_ROLE_ADMIN},
    {"GET", "/v1/analytics/funnel", bo_analytics_funnel, B4_ROLE_ADMIN},
    {"POST", "/v1/reports/orders", bo_reports_create, B4_ROLE_ADMIN},
    {"GET", "/v1/reports/:id", bo_reports_get, B4_ROLE_ADMIN},
    {"GET", "/v1/reports/:id/download", bo_reports_download, B4_ROLE_ADMIN},
    {"GET", "/v1/audit-log", bo_audit_list, B4_ROLE_ADMIN},
    {"GET", "/v1/settings/acquirers", bo_settings_acquirers_get, B4_ROLE_ADMIN},
    {"PUT", "/v1/settings/acquirers", bo_settings_acquirers_put, B4_ROLE_ADMIN},
};
const size_t backoffice_nroutes = sizeof(backoffice_routes) / sizeof(backoffice_routes[0]);
