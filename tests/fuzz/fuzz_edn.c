/* fuzz_edn.c - libFuzzer target: the EDN value reader and the EDN history reader (with round
 * trips). */
#include "common/edn.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The value reader alone: any parsed value must survive write + read. */
    json_t *v = NULL;
    char err[FL_ERRMSG_SIZE];
    if (fl_edn_parse((const char *)data, size, &v, err) == 0) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        if (out) {
            int wrc = fl_edn_write_value(out, v, FL_HISTORY_MAX_DEPTH);
            fclose(out);
            json_t *back = NULL;
            if (wrc == 0 && (fl_edn_parse(text, len, &back, err) != 0 || !json_equal(v, back))) {
                fprintf(stderr, "EDN value round trip failed: <%s>: %s\n", text, err);
                abort();
            }
            json_decref(back);
            free(text);
        }
        json_decref(v);
    } else if (strncmp(err, "line ", 5) != 0) {
        fprintf(stderr, "error message without a position: %s\n", err);
        abort();
    }
    return fuzz_history(data, size, FL_FORMAT_EDN);
}
