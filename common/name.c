/* name.c - the name check; see name.h. */
#include "common/name.h"

#include <string.h>

bool fl_name_ok(const char *s, bool allow_dot)
{
    /* A name becomes a folder (results/campaign/NAME): "." and ".." are not
     * names of their own but this folder and its parent. */
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || (allow_dot && *s == '.')))
            return false;
    return true;
}
