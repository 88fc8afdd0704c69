/* fuzz_hostfile.c - libFuzzer target: the hosts file parser (nemesis/hostfile.c). Every input is
 * accepted with every field within its rules, or refused with one line naming the file. */
#include "common/error.h"
#include "nemesis/hostfile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nemesis_hostfile hf;
    char err[FL_ERRMSG_SIZE] = "";
    int rc = nemesis_hostfile_parse((const char *)data, size, "fuzz.json", &hf, err);
    if (rc != 0) {
        if (strncmp(err, "fuzz.json", 9) != 0 || strchr(err, '\n') != NULL || hf.n != 0)
            abort();
        return 0;
    }
    if (hf.n < 1 || hf.n > NEMESIS_MAX_NODES)
        abort();
    for (unsigned i = 0; i < hf.n; i++) {
        const struct nemesis_host *h = &hf.hosts[i];
        if (!nemesis_hostfile_addr_allowed(h->addr) || h->ssh[0] == '-' || h->workdir[0] != '/' ||
            strchr(h->workdir, '\'') != NULL || strstr(h->workdir, "..") != NULL ||
            h->port > 65535 || h->line < 1)
            abort();
        for (unsigned j = 0; j < i; j++)
            if (strcmp(hf.hosts[j].addr, h->addr) == 0 || strcmp(hf.hosts[j].name, h->name) == 0)
                abort();
    }
    return 0;
}
