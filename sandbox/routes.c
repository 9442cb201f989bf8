/* routes.c - the whole surface of b4-acquirer-sandbox (docs/ACQUIRER.md).
 *
 * The routes are "public" for the server because its role hook checks
 * member JWTs; every handler checks the acquirer's own bearer secret first
 * (sbx_authorized), the control routes included, except the public
 * tokenization a browser calls with the public key (public.c). */
#include "sandbox.h"

const struct b4_route sbx_routes[] = {
    {"POST", "/v1/tokens", sbx_token_create, B4_ROLE_PUBLIC},
    {"POST", "/v1/tokens/lookup", sbx_token_lookup, B4_ROLE_PUBLIC},
    {"POST", "/v1/public/card-tokens", sbx_public_token_create, B4_ROLE_PUBLIC},
    {"OPTIONS", "/v1/public/card-tokens", sbx_public_preflight, B4_ROLE_PUBLIC},
    {"POST", "/v1/charges", sbx_charge_create, B4_ROLE_PUBLIC},
    {"GET", "/v1/charges", sbx_charge_list, B4_ROLE_PUBLIC},
    {"GET", "/v1/charges/:id", sbx_charge_get, B4_ROLE_PUBLIC},
    {"POST", "/v1/charges/:id/refunds", sbx_refund_create, B4_ROLE_PUBLIC},
    {"POST", "/control/pix/:txid/pay", sbx_control_pix_pay, B4_ROLE_PUBLIC},
    {"POST", "/control/boleto/:barcode/pay", sbx_control_boleto_pay, B4_ROLE_PUBLIC},
    {"POST", "/control/charges/:id/chargeback", sbx_control_chargeback, B4_ROLE_PUBLIC},
};
const size_t sbx_nroutes = sizeof(sbx_routes) / sizeof(sbx_routes[0]);
