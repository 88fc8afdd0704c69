/* fuzz_template.c - libFuzzer target: the {placeholder} template renderer (common/template.c)
 * with a resolver like the real one (known names, node arguments, conditionals); rendered output
 * stays within its bound, and an error always says where. */
#include "common/error.h"
#include "common/template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int value(void *d, const char *name, const char *arg, struct fl_buf *out, char *errmsg)
{
    (void)d;
    if (arg != NULL && strcmp(name, "addr") == 0 && strcmp(arg, "n1") == 0) {
        fl_buf_puts(out, "198.51.100.1");
        return 0;
    }
    if (arg == NULL && (strcmp(name, "id") == 0 || strcmp(name, "peers") == 0)) {
        fl_buf_puts(out, strcmp(name, "id") == 0 ? "1" : "n1=198.51.100.1:7000,n2=x:7000");
        return 0;
    }
    return fl_errorf(errmsg, FL_ESHAPE, "unknown placeholder");
}

static int cond(void *d, const char *arg, bool *on, char *errmsg)
{
    (void)d;
    if (arg[0] != 'n')
        return fl_errorf(errmsg, FL_ESHAPE, "no node");
    *on = strcmp(arg, "n1") == 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_template_ops ops = {.value = value, .cond = cond};
    struct fl_buf b;
    fl_buf_init(&b);
    char err[FL_ERRMSG_SIZE];
    int rc = fl_template_render(&ops, (const char *)data, size, "fuzz", &b, 4096, err);
    if (rc == 0 && b.len > 4096)
        abort();
    if (rc != 0 && strncmp(err, "fuzz line ", 10) != 0)
        abort();
    fl_buf_free(&b);
    return 0;
}
