/* name.c - the name check; see name.h. */
#include "common/name.h"

bool fl_name_ok(const char *s, bool allow_dot)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || (allow_dot && *s == '.')))
            return false;
    return true;
}
