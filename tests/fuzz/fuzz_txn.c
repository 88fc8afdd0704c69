/* fuzz_txn.c - libFuzzer target: the transactional history reader (JSONL and EDN), then the
 * transactional check and its explanations over whatever it accepts. */
#include "checker/txn_check.h"
#include "checker/txn_explain.h"
#include "common/error.h"

#include <stdio.h>

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
    if (checker_txn_history_load_file(fp, "fuzz", FL_FORMAT_AUTO, &h, errmsg) == 0) {
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
