/* new's options, read into a client's settings. */
#ifndef GJ_OPTIONS_H
#define GJ_OPTIONS_H

#include "compat.h"
#include "conf.h"

/* Reads the options table at stack index 1 into c, raising on a bad one;
 * c's strings then point into the options (or the environment). */
void gj_conf_read(lua_State *L, gj_conf *c);
/* Makes c's strings its own copies; -1 when out of memory. */
int gj_conf_own(gj_conf *c);
/* Frees what gj_conf_own copied, wiping the tokens. */
void gj_conf_free(gj_conf *c);

#endif
