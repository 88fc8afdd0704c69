/* fuzz_txn.c - libFuzzer target: the transactional history reader (JSONL and EDN), then the
 * transactional check and its explanations over whatever it accepts. */
#include "checker/txn_check.h"
#include "checker/txn_explain.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char errmsg[FL_ERRMSG_SIZE];
    struct checker_txn_history h;
    if (size == 0)
        return 0;
    FILE *fp = fmemopen((void *)data, size, "r");
    if (!fp)
        return 0;
    int rc = checker_txn_history_load_file(fp, "fuzz", FL_FORMAT_AUTO, &h, errmsg);
    /* EDN's fast path and the general reader must agree on every input */
    if (h.format == FL_FORMAT_EDN) {
        struct checker_txn_history g;
        char gerr[FL_ERRMSG_SIZE];
        FILE *gp = fmemopen((void *)data, size, "r");
        if (gp) {
            checker_txn_history_edn_fast(false);
            int grc = checker_txn_history_load_file(gp, "fuzz", FL_FORMAT_EDN, &g, gerr);
            checker_txn_history_edn_fast(true);
            int same = grc == rc && (rc == 0 || strcmp(gerr, errmsg) == 0) &&
                       g.n_txns == h.n_txns && g.n_mops == h.n_mops && g.n_keys == h.n_keys &&
                       g.n_events == h.n_events && g.n_elems == h.n_elems;
            for (size_t i = 0; same && i < h.n_mops; i++)
                same = g.mops[i].f == h.mops[i].f && g.mops[i].key == h.mops[i].key &&
                       g.mops[i].rkind == h.mops[i].rkind && g.mops[i].len == h.mops[i].len &&
                       g.mops[i].value == h.mops[i].value;
            for (size_t i = 0; same && i < h.n_txns; i++)
                same = g.txns[i].process == h.txns[i].process &&
                       g.txns[i].type == h.txns[i].type &&
                       g.txns[i].inv_line == h.txns[i].inv_line &&
                       g.txns[i].end_line == h.txns[i].end_line &&
                       g.txns[i].inv_time == h.txns[i].inv_time &&
                       g.txns[i].end_time == h.txns[i].end_time;
            if (!same) {
                fprintf(stderr, "fast: %d %s\ngeneral: %d %s\n", rc, rc < 0 ? errmsg : "", grc,
                        grc < 0 ? gerr : "");
                abort();
            }
            checker_txn_history_free(&g);
        }
    }
    if (rc == 0) {
        for (int w = 0; w < 2; w++) {
            struct checker_txn_result res;
            struct checker_txn_options opt = {.workload = (enum checker_txn_workload)w,
                                              .consistency = CHECKER_TXN_STRICT_SERIALIZABLE,
                                              .timeout_s = 1};
            if (checker_txn_check(&h, &opt, &res, errmsg) == 0) {
                struct fl_buf b;
                fl_buf_init(&b);
                checker_txn_explain_text(&h, &res, &b);
                for (int k = 0; k < CHECKER_TXN_N_CYCLE_KINDS; k++)
                    checker_txn_cycle_svg(&h, &res.found.example[k], &b);
                fl_buf_free(&b);
                json_decref(checker_txn_result_json(&h, &res));
            }
            checker_txn_result_free(&res);
        }
    }
    checker_txn_history_free(&h);
    return 0;
}
