/* foreign.h - the options of foreign systems ("process" and "client" implementations).
 *
 * implementation.options.{client, processes, files, hooks, events,
 * peer_port, client_port, upload} (workloads/PROCESS_PROTOCOL.md, CLIENT_PROTOCOL.md)
 * are validated here and kept in the scenario as canonical JSON text (the
 * scenario struct holds no pointers). Template files are read at load, so
 * the text travels with the scenario (results/.../scenario.json replays the
 * same files). Every template is rendered for a mock cluster of the
 * scenario's size at validation, so a bad placeholder is reported before any
 * namespace is built, naming the field, line and column. */
#ifndef HARNESS_FOREIGN_H
#define HARNESS_FOREIGN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define HARNESS_FOREIGN_MAX         65536 /* bytes of the canonical JSON, with the NUL */
#define HARNESS_FOREIGN_MAX_FILES   16
#define HARNESS_FOREIGN_MAX_PROCS   4
#define HARNESS_FOREIGN_MAX_EVENTS  16
#define HARNESS_FOREIGN_FILE_MAX    32768 /* bytes of one template */
#define HARNESS_FOREIGN_MAX_UPLOADS 16

/* True when `key` of implementation.options belongs here. */
bool harness_foreign_key(const char *key);

/* Validates the foreign keys of `opts` (borrowed) for a "client" (client_impl)
 * or "process" implementation and writes them as canonical JSON into out
 * (outlen bytes; "" when none is present). Messages: "scenario NAME:
 * implementation.options.FIELD: problem". Returns 0 or an FL_E* code. */
int harness_foreign_parse(json_t *opts, const char *name, bool client_impl, char *out,
                          size_t outlen, char *errmsg);

/* Renders every template of the implementation (args, processes, files,
 * hooks, client args) for a mock cluster of n nodes, so errors show before a
 * run. opts is the implementation's options as JSON (binary, args and the
 * foreign keys). Returns 0 or an FL_E* code with errmsg. */
int harness_foreign_check(json_t *opts, const char *name, unsigned n, bool client_impl,
                          char *errmsg);

/* The name an options.upload path gets in a host's bin/ folder (its last part), or NULL when
 * that part is empty, "." or "..", or not [A-Za-z0-9._-]. Borrowed from path. */
const char *harness_foreign_upload_name(const char *path);

#endif
