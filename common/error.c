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

/* Messages quote untrusted input (names, parser context): a newline or a
 * terminal escape in one must not break the one-line contract. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

int fl_errorf(char *errmsg, int code, const char *fmt, ...)
{
    if (errmsg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, FL_ERRMSG_SIZE, fmt, ap);
        va_end(ap);
        one_line(errmsg);
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
    one_line(errmsg);
    return code;
}
