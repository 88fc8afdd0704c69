/* error.c - error descriptions and errmsg formatting. */
#include "common/error.h"

#include <stdio.h>
#include <string.h>

const char *fl_strerror(int code)
{
    switch (code) {
#define FL__ERR_CASE(name, value, desc)                                                            \
    case name:                                                                                     \
        return desc;
        FL_ERRORS(FL__ERR_CASE)
#undef FL__ERR_CASE
    default:
        break;
    }
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}

int fl_errorf(char *errmsg, int code, const char *fmt, ...)
{
    if (errmsg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, FL_ERRMSG_SIZE, fmt, ap);
        va_end(ap);
    }
    return code;
}

int fl_error_wrap(char *errmsg, int code, const char *fmt, ...)
{
    char prefix[FL_ERRMSG_SIZE], old[FL_ERRMSG_SIZE];
    va_list ap;

    if (!errmsg)
        return code;
    snprintf(old, sizeof old, "%s", errmsg);
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Compose in a buffer large enough for both, then truncate on copy. */
    char both[2 * FL_ERRMSG_SIZE + 4];
    snprintf(both, sizeof both, "%s: %s", prefix, old[0] ? old : fl_strerror(code));
    memcpy(errmsg, both, FL_ERRMSG_SIZE - 1);
    errmsg[FL_ERRMSG_SIZE - 1] = '\0';
    return code;
}
