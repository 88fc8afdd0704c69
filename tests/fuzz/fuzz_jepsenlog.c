/* fuzz_jepsenlog.c - libFuzzer target: the Jepsen text-log reader, and EDN round trips of what it
 * reads. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_history(data, size, FL_FORMAT_JEPSEN_LOG);
}
