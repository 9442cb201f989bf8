/* api.h - b4-api, the members service: private declarations. */
#ifndef B4_SVC_API_H
#define B4_SVC_API_H

#include "b4/http.h"

extern const struct b4_route api_routes[];
extern const size_t api_nroutes;

void api_me(struct b4_req *req);

#endif
