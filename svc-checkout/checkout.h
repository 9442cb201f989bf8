/* checkout.h - b4-checkout, the public checkout service: private declarations. */
#ifndef B4_SVC_CHECKOUT_H
#define B4_SVC_CHECKOUT_H

#include "b4/http.h"

extern const struct b4_route checkout_routes[];
extern const size_t checkout_nroutes;

#endif
