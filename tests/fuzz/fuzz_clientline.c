/* fuzz_clientline.c - libFuzzer target: a client program's completion line
 * (workloads/client_line.c, CLIENT_PROTOCOL.md); whatever it is, the parser answers or refuses
 * with a reason, and what it keeps is bounded. */
#include "common/error.h"
#include "workloads/client_line.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct workload_client_answer a;
    char err[FL_ERRMSG_SIZE];
    err[0] = '\0';
    int rc = workload_client_parse((const char *)data, size, &a, err);
    if (rc != 0 && err[0] == '\0')
        abort();
    if (rc == 0) {
        if (strlen(a.error) >= sizeof a.error || a.leader < 0 || a.leader > 64 ||
            (a.term < -1) || a.kind > WORKLOAD_CLIENT_INDEFINITE)
            abort();
        json_decref(a.value);
    }
    return 0;
}
