/* mem.c - resident memory of this process from /proc/self/statm. */
#include "common/mem.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

size_t fl_mem_rss(void)
{
    /* read(2), not stdio: no allocation, so it is safe to call while an
     * allocation budget is being enforced. */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long size, resident;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (size_t)resident * (size_t)(page > 0 ? page : 4096);
}
