/* template.h - `{placeholder}` templates: command-line arguments and config files of foreign nodes.
 *
 * Syntax (workloads/PROCESS_PROTOCOL.md):
 *   {NAME} {NAME:ARG}     a value, given by the caller's resolver
 *   {if:ARG:TEXT}         TEXT (itself a template, no literal '}') when the
 *   {unless:ARG:TEXT}     caller's condition on ARG holds / does not hold
 *   {{                    a literal '{'
 * NAME is [a-z_]+, ARG is [A-Za-z0-9._/-]+. Anything else after '{' is an
 * error, reported as "WHAT line L col C: problem" with WHAT the caller's
 * name for the source (an argument, a file). A false branch is still
 * checked, so an error is found whatever node renders the template. Output
 * and nesting are bounded. */
#ifndef FL_TEMPLATE_H
#define FL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define FL_TEMPLATE_MAX_DEPTH 4

struct fl_template_ops {
    /* Appends the value of {name} or {name:arg} (arg NULL when absent) to
     * out. Returns 0, or an FL_E* code with errmsg saying why (no position). */
    int (*value)(void *data, const char *name, const char *arg, struct fl_buf *out, char *errmsg);
    /* Sets *on for {if:arg:..} (unless: the caller's answer is negated here).
     * Returns 0 or an FL_E* code with errmsg. */
    int (*cond)(void *data, const char *arg, bool *on, char *errmsg);
    void *data;
};

/* Renders src (len bytes, need not be NUL-terminated) with ops, appending to
 * out at most max bytes. Returns 0, FL_EPARSE (syntax), FL_ELIMIT (output
 * over max), FL_ENOMEM, or the resolver's code; errmsg names what, line and
 * column. out is then unspecified. */
int fl_template_render(const struct fl_template_ops *ops, const char *src, size_t len,
                       const char *what, struct fl_buf *out, size_t max, char *errmsg);

#endif
