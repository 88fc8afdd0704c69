/* name.h - the name check shared by the files that name things (a hosts
 * file's hosts, a campaign and its runners). */
#ifndef FL_NAME_H
#define FL_NAME_H

#include <stdbool.h>

/* True when `s` is non-empty and only [A-Za-z0-9_-], and '.' too when
 * `allow_dot` (campaign and runner names; host names do without) but never
 * "." or "..": a name is one path component that stays where it is put. */
bool fl_name_ok(const char *s, bool allow_dot);

#endif
