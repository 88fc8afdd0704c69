/* template.c - the `{placeholder}` template renderer (a small recursive descent). */
#include "common/template.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

struct tpl {
    const struct fl_template_ops *ops;
    const char *src, *what;
    size_t len, max;
    struct fl_buf *out;
    char *errmsg;
};

/* Fails with "WHAT line L col C: " + text, for the position at src offset `at`. */
static int fail_at(struct tpl *t, size_t at, int code, const char *text)
{
    unsigned long line = 1, col = 1;
    for (size_t i = 0; i < at && i < t->len; i++) {
        if (t->src[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return fl_errorf(t->errmsg, code, "%s line %lu col %lu: %s", t->what, line, col, text);
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

/* Lone braces ("{" neither doubled nor starting a name) from AT on. */
static unsigned lone_braces(const struct tpl *t, size_t at)
{
    unsigned n = 0;
    for (size_t i = at; i < t->len; i++) {
        if (t->src[i] != '{')
            continue;
        if (i + 1 < t->len && t->src[i + 1] == '{')
            i++;
        else if (i + 1 >= t->len || !name_char(t->src[i + 1]))
            n++;
    }
    return n;
}

static bool arg_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '/' || c == '-';
}

static int emit(struct tpl *t, struct fl_buf *out, size_t at, const char *s, size_t n)
{
    if (out == NULL)
        return 0;
    if (out->len + n > t->max)
        return fail_at(t, at, FL_ELIMIT, "rendered text too long");
    fl_buf_append(out, s, n);
    return out->oom ? fail_at(t, at, FL_ENOMEM, "out of memory") : 0;
}

/* Renders from *pos; in a conditional's TEXT (depth > 0) an unmatched '}'
 * ends it (left at *pos). out NULL: only checks (a false branch). */
static int render(struct tpl *t, size_t *pos, unsigned depth, struct fl_buf *out)
{
    char msg[FL_ERRMSG_SIZE];
    size_t i = *pos;
    while (i < t->len) {
        char c = t->src[i];
        if (c == '}' && depth > 0)
            break;
        if (c != '{') {
            size_t j = i;
            while (j < t->len && t->src[j] != '{' && !(depth > 0 && t->src[j] == '}'))
                j++;
            int rc = emit(t, out, i, t->src + i, j - i);
            if (rc)
                return rc;
            i = j;
            continue;
        }
        if (i + 1 < t->len && t->src[i + 1] == '{') {
            int rc = emit(t, out, i, "{", 1);
            if (rc)
                return rc;
            i += 2;
            continue;
        }
        size_t start = i, n0 = i + 1, n1 = n0;
        while (n1 < t->len && name_char(t->src[n1]) && n1 - n0 < 32)
            n1++;
        char name[40], arg[128];
        snprintf(name, sizeof name, "%.*s", (int)(n1 - n0), t->src + n0);
        if (n1 == n0) {
            /* A brace of the config's own syntax (NATS, nginx, JSON...): say so, and how many
             * more the template has, so they are all doubled in one go. */
            unsigned more = lone_braces(t, start + 1);
            char extra[64] = "";
            if (more > 0)
                snprintf(extra, sizeof extra, "; %u more such brace%s after it", more,
                         more == 1 ? "" : "s");
            snprintf(msg, sizeof msg, "a lone \"{\" (followed by %s) does not start a "
                     "placeholder: write \"{{\" for a literal brace%s",
                     n1 >= t->len ? "the end"
                     : t->src[n1] == '\n' ? "a line end"
                     : t->src[n1] == ' ' || t->src[n1] == '\t' ? "a blank"
                     : "a character that cannot start a name",
                     extra);
            return fail_at(t, start, FL_EPARSE, msg);
        }
        if (n1 >= t->len || (t->src[n1] != '}' && t->src[n1] != ':')) {
            size_t show = n1 - start + (n1 < t->len ? 1 : 0);
            snprintf(msg, sizeof msg, "malformed placeholder \"%.*s\" (expected {name} or "
                     "{name:arg}; {{ for a literal brace)", (int)(show > 40 ? 40 : show),
                     t->src + start);
            return fail_at(t, start, FL_EPARSE, msg);
        }
        bool has_arg = t->src[n1] == ':';
        size_t a0 = n1 + 1, a1 = a0;
        arg[0] = '\0';
        if (has_arg) {
            while (a1 < t->len && arg_char(t->src[a1]) && a1 - a0 < sizeof arg - 1)
                a1++;
            snprintf(arg, sizeof arg, "%.*s", (int)(a1 - a0), t->src + a0);
        }
        bool is_if = strcmp(name, "if") == 0, is_unless = strcmp(name, "unless") == 0;
        if (is_if || is_unless) {
            if (!has_arg || a1 == a0 || a1 >= t->len || t->src[a1] != ':') {
                snprintf(msg, sizeof msg, "{%s:...} needs a condition and a text, as "
                         "{%s:n1:TEXT}", name, name);
                return fail_at(t, start, FL_EPARSE, msg);
            }
            if (depth + 1 >= FL_TEMPLATE_MAX_DEPTH)
                return fail_at(t, start, FL_ELIMIT, "conditionals nested too deep");
            bool on = false;
            int rc = t->ops->cond != NULL ? t->ops->cond(t->ops->data, arg, &on, msg)
                                          : fl_errorf(msg, FL_ESHAPE, "no conditionals here");
            if (rc) {
                char m2[FL_ERRMSG_SIZE];
                snprintf(m2, sizeof m2, "{%s:%s:..}: %s", name, arg, msg);
                return fail_at(t, start, rc, m2);
            }
            if (is_unless)
                on = !on;
            size_t p = a1 + 1;
            if ((rc = render(t, &p, depth + 1, on ? out : NULL)))
                return rc;
            if (p >= t->len || t->src[p] != '}')
                return fail_at(t, start, FL_EPARSE, "conditional not closed by '}'");
            i = p + 1;
            continue;
        }
        size_t end = has_arg ? a1 : n1;
        if (end >= t->len || t->src[end] != '}' || (has_arg && a1 == a0)) {
            snprintf(msg, sizeof msg, "malformed placeholder \"%.*s\"",
                     (int)((end < t->len ? end + 1 : end) - start > 40
                               ? 40
                               : (end < t->len ? end + 1 : end) - start),
                     t->src + start);
            return fail_at(t, start, FL_EPARSE, msg);
        }
        struct fl_buf scratch;
        fl_buf_init(&scratch);
        int rc = t->ops->value(t->ops->data, name, has_arg ? arg : NULL, &scratch, msg);
        if (rc == 0)
            rc = emit(t, out, start, scratch.data != NULL ? scratch.data : "", scratch.len);
        else {
            char m2[FL_ERRMSG_SIZE];
            snprintf(m2, sizeof m2, "{%s%s%s}: %s", name, has_arg ? ":" : "", arg, msg);
            rc = fail_at(t, start, rc, m2);
        }
        fl_buf_free(&scratch);
        if (rc)
            return rc;
        i = end + 1;
    }
    *pos = i;
    return 0;
}

int fl_template_render(const struct fl_template_ops *ops, const char *src, size_t len,
                       const char *what, struct fl_buf *out, size_t max, char *errmsg)
{
    struct tpl t = {.ops = ops, .src = src, .what = what, .len = len, .max = max, .out = out,
                    .errmsg = errmsg};
    size_t pos = 0;
    int rc = render(&t, &pos, 0, out);
    if (rc == 0 && out != NULL && out->len == 0)
        fl_buf_cstr(out);
    return rc;
}
