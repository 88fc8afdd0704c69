/* scenario_read.c - JSON field readers for scenario files: type and bounds checked, errors
 * naming the field path. */
#include "harness/scenario_read.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

int harness__fail(struct harness__sc *c, int code, const char *path, const char *key,
                  const char *fmt, ...)
{
    char what[FL_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (path && path[0] && key)
        return fl_errorf(c->errmsg, code, "scenario %s: %s.%s: %s", c->name, path, key, what);
    if (key)
        return fl_errorf(c->errmsg, code, "scenario %s: %s: %s", c->name, key, what);
    return fl_errorf(c->errmsg, code, "scenario %s: %s: %s", c->name, path, what);
}

const char *harness__type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
    default:
        return "null";
    }
}

/* Refuses keys of `obj` that are not in `allowed` (NULL-terminated). */
int harness__only_keys(struct harness__sc *c, json_t *obj, const char *path,
                       const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok = ok || strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char list[160] = "";
            size_t len = 0;
            for (size_t i = 0; allowed[i] && len < sizeof(list); i++)
                len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
                                        allowed[i]);
            char shown[48];
            snprintf(shown, sizeof(shown), "%s", key);
            for (char *p = shown; *p; p++)
                if ((unsigned char)*p < 0x20)
                    *p = '?';
            return harness__fail(c, FL_ESHAPE, path, shown, "unknown field (known: %s)", list);
        }
    }
    return 0;
}

/* Returns the member `key` of `obj` that must be an object (NULL when absent). */
int harness__get_object(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                        json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return harness__fail(c, FL_ESHAPE, path, key, "expected an object, got %s",
                             harness__type_name(v));
    *out = v;
    return 0;
}

int harness__get_u64(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                     uint64_t min, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v)) {
        if (min == 1)
            return harness__fail(c, FL_ESHAPE, path, key, "expected a positive integer, got %s",
                                 harness__type_name(v));
        return harness__fail(
            c, FL_ESHAPE, path, key, "expected an integer from %llu to %llu, got %s",
            (unsigned long long)min, (unsigned long long)max, harness__type_name(v));
    }
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
        return harness__fail(c, FL_ELIMIT, path, key,
                             "expected an integer from %llu to %llu, got %lld",
                             (unsigned long long)min, (unsigned long long)max, (long long)x);
    *out = (uint64_t)x;
    return 0;
}

int harness__get_uint(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                      unsigned min, unsigned max, unsigned *out)
{
    uint64_t x = *out;
    int rc = harness__get_u64(c, obj, path, key, min, max, &x);
    if (rc == 0)
        *out = (unsigned)x;
    return rc;
}

int harness__get_double(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                        double min, double max, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return harness__fail(c, FL_ESHAPE, path, key, "expected a number from %g to %g, got %s",
                             min, max, harness__type_name(v));
    double x = json_number_value(v);
    if (!isfinite(x) || x < min || x > max)
        return harness__fail(c, FL_ELIMIT, path, key, "expected a number from %g to %g, got %g",
                             min, max, x);
    *out = x;
    return 0;
}

int harness__get_bool(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                      bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return harness__fail(c, FL_ESHAPE, path, key, "expected true or false, got %s",
                             harness__type_name(v));
    *out = json_is_true(v);
    return 0;
}

/* A string without control characters, shorter than `cap` bytes. */
int harness__check_text(struct harness__sc *c, json_t *v, const char *path, const char *key,
                        size_t cap)
{
    if (!json_is_string(v))
        return harness__fail(c, FL_ESHAPE, path, key, "expected a string, got %s",
                             harness__type_name(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len >= cap)
        return harness__fail(c, FL_ELIMIT, path, key, "longer than %zu bytes", cap - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return harness__fail(c, FL_ESHAPE, path, key, "control character at byte %zu", i);
    return 0;
}

int harness__get_text(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                      char *out, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    int rc = harness__check_text(c, v, path, key, cap);
    if (rc)
        return rc;
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

/* A string member that must be one of names[0..n) (NULL entries skipped);
 * `null_ok`: JSON null gives `null_value`. */
int harness__get_enum(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                      const char *const *names, int n, bool null_ok, int null_value, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char list[200] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof(list); i++)
        if (names[i])
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s\"%s\"", len ? ", " : "",
                                    names[i]);
    if (null_ok && len < sizeof(list))
        snprintf(list + len, sizeof(list) - len, ", null");
    if (json_is_null(v) && null_ok) {
        *out = null_value;
        return 0;
    }
    if (!json_is_string(v))
        return harness__fail(c, FL_ESHAPE, path, key, "expected one of %s, got %s", list,
                             harness__type_name(v));
    for (int i = 0; i < n; i++) {
        if (names[i] && strcmp(json_string_value(v), names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return harness__fail(c, FL_ESHAPE, path, key, "expected one of %s", list);
}
