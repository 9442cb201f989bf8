/* backoffice.h - b4-backoffice, the admin back-office service: private declarations. */
#ifndef B4_SVC_BACKOFFICE_H
#define B4_SVC_BACKOFFICE_H

#include "b4/http.h"

extern const struct b4_route backoffice_routes[];
extern const size_t backoffice_nroutes;

#endif
