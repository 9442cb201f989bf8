/* role.h - who may do what.  Admin includes member rights. */
#ifndef B4_ROLE_H
#define B4_ROLE_H

enum b4_role {
	B4_ROLE_PUBLIC = 0, /* anyone, no token */
	B4_ROLE_MEMBER = 1, /* "member" or "admin" */
	B4_ROLE_ADMIN = 2,  /* "admin" only */
};

#endif
