/* client_line.c - parsing a client program's completion line (CLIENT_PROTOCOL.md). */
#include "workloads/client_line.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* The start of the line, printable, for messages. */
static void quote(const char *line, size_t n, char *out, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < len && i < 48; i++)
        out[k++] = isprint((unsigned char)line[i]) ? line[i] : '?';
    if (n > 48 && k + 4 < len) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

int workload_client_parse(const char *line, size_t n, struct workload_client_answer *a,
                          char *errmsg)
{
    char q[64];
    memset(a, 0, sizeof *a);
    a->term = -1;
    quote(line, n, q, sizeof q);
    if (n > WORKLOAD_CLIENT_MAX_LINE)
        return fl_errorf(errmsg, FL_ELIMIT, "line longer than 1 MiB");
    json_error_t je;
    json_t *doc = json_loadb(line, n, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        return fl_errorf(errmsg, FL_EPARSE, "not JSON (%s): \"%s\"", je.text, q);
    int rc = 0;
    json_t *id = json_object_get(doc, "id"), *ok = json_object_get(doc, "ok");
    if (!json_is_object(doc))
        rc = fl_errorf(errmsg, FL_ESHAPE, "not a JSON object: \"%s\"", q);
    else if (!json_is_integer(id) || json_integer_value(id) < 0)
        rc = fl_errorf(errmsg, FL_ESHAPE, "id: expected a non-negative integer: \"%s\"", q);
    else if (!json_is_boolean(ok))
        rc = fl_errorf(errmsg, FL_ESHAPE, "ok: expected true or false: \"%s\"", q);
    if (rc != 0) {
        json_decref(doc);
        return rc;
    }
    a->id = (uint64_t)json_integer_value(id);
    json_t *def = json_object_get(doc, "definite");
    if (def != NULL && !json_is_boolean(def))
        rc = fl_errorf(errmsg, FL_ESHAPE, "definite: expected true or false: \"%s\"", q);
    a->kind = json_is_true(ok)    ? WORKLOAD_CLIENT_OK
              : json_is_true(def) ? WORKLOAD_CLIENT_DEFINITE
                                  : WORKLOAD_CLIENT_INDEFINITE;
    json_t *err = json_object_get(doc, "error");
    if (rc == 0 && err != NULL && !json_is_null(err)) {
        if (json_is_string(err))
            snprintf(a->error, sizeof a->error, "%s", json_string_value(err));
        else
            rc = fl_errorf(errmsg, FL_ESHAPE, "error: expected a string: \"%s\"", q);
    }
    json_t *leader = json_object_get(doc, "leader"), *term = json_object_get(doc, "term");
    json_t *unknown = json_object_get(doc, "unknown");
    if (rc == 0 && unknown != NULL && !json_is_boolean(unknown))
        rc = fl_errorf(errmsg, FL_ESHAPE, "unknown: expected true or false: \"%s\"", q);
    a->unknown = json_is_true(unknown);
    if (rc == 0 && leader != NULL) {
        a->has_leader = true;
        const char *s = json_string_value(leader);
        char *end = NULL;
        long k = s != NULL && s[0] == 'n' && isdigit((unsigned char)s[1]) ? strtol(s + 1, &end, 10)
                                                                         : -1;
        if (json_is_null(leader))
            a->leader = 0;
        else if (k >= 1 && k <= 64 && end != NULL && *end == '\0')
            a->leader = (int)k;
        else
            rc = fl_errorf(errmsg, FL_ESHAPE, "leader: expected a node name nK or null: \"%s\"",
                           q);
    }
    if (rc == 0 && term != NULL && !json_is_null(term)) {
        if (json_is_integer(term) && json_integer_value(term) >= 0)
            a->term = json_integer_value(term);
        else
            rc = fl_errorf(errmsg, FL_ESHAPE, "term: expected a non-negative integer: \"%s\"", q);
    }
    /* Which node served the operation (optional): recorded in the history's "node". */
    json_t *node = json_object_get(doc, "node");
    if (rc == 0 && node != NULL && !json_is_null(node)) {
        const char *s = json_string_value(node);
        char *end = NULL;
        long k = s != NULL && s[0] == 'n' && isdigit((unsigned char)s[1]) ? strtol(s + 1, &end, 10)
                                                                         : -1;
        if (k >= 1 && k <= 64 && end != NULL && *end == '\0')
            a->node = (int)k;
        else
            rc = fl_errorf(errmsg, FL_ESHAPE, "node: expected a node name nK: \"%s\"", q);
    }
    json_t *v = json_object_get(doc, "value");
    if (rc == 0 && v != NULL)
        a->value = json_incref(v);
    json_decref(doc);
    return rc;
}
