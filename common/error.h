/* error.h - project error codes and the errmsg convention shared by every part.
 *
 * Functions return 0 or a negative code: a negative errno (libuv's codes pass
 * through unchanged) or one of the FL_E* codes below. Human context travels in
 * a caller-provided `char errmsg[FL_ERRMSG_SIZE]`, wrapped at each layer so the
 * final text names the file, line and field a user must fix. */
#ifndef FL_ERROR_H
#define FL_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#define FL_ERRMSG_SIZE 256

/* X(name, value, description). Values sit far below any errno. */
#define FL_ERRORS(X)                                                                               \
    X(FL_EPARSE, -10001, "malformed input")                                                        \
    X(FL_ESHAPE, -10002, "value of the wrong shape")                                               \
    X(FL_ELIMIT, -10003, "size limit exceeded")                                                    \
    X(FL_EHISTORY, -10004, "inconsistent history")                                                 \
    X(FL_EUSAGE, -10005, "invalid usage")                                                          \
    X(FL_ENOMEM, -10006, "out of memory")                                                          \
    X(FL_EBUDGET, -10007, "search budget exhausted")                                               \
    X(FL_EUNSUPPORTED, -10008, "not supported")                                                   \
    X(FL_EUNDECIDED, -10009, "equality of values cannot be decided")

enum fl_error {
#define FL__ERR_ENUM(name, value, desc) name = value,
    FL_ERRORS(FL__ERR_ENUM)
#undef FL__ERR_ENUM
};

/* Returns a static description of `code` (an FL_E* code or a negative errno). */
const char *fl_strerror(int code);

/* Formats into errmsg (FL_ERRMSG_SIZE bytes), truncating safely; control
 * characters (newlines, escapes) become '?', so a message stays one line
 * whatever input it quotes. Returns `code`
 * so callers can write `return fl_errorf(errmsg, FL_EPARSE, "...")`. */
int fl_errorf(char *errmsg, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in errmsg with a new context: "ctx: old"
 * (one line, as fl_errorf). */
int fl_error_wrap(char *errmsg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
