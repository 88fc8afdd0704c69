/* test_support.h - helpers shared by the unit tests (temporary files, paths). */
#ifndef FL_TEST_SUPPORT_H
#define FL_TEST_SUPPORT_H

#include <stddef.h>

/* Writes `text` to a fresh temporary file and returns its path (static
 * storage per call slot; the file is removed at exit). */
const char *test_tmpfile(const char *text, const char *suffix);
/* The same for `len` bytes that may hold NULs. */
const char *test_tmpfile_n(const char *text, size_t len, const char *suffix);
/* Absolute path of a file in the source tree. Returned string is static. */
const char *test_source_path(const char *rel);

#endif
