/* mem.h - the process's resident memory, for budgets that cover the whole
 * process (faultline check --max-memory) rather than one data structure. */
#ifndef FL_MEM_H
#define FL_MEM_H

#include <stddef.h>

/* Bytes resident now (/proc/self/statm), or 0 when that cannot be read (the
 * caller then has no process-wide figure and keeps its own accounting). */
size_t fl_mem_rss(void);

#endif
