/* client.h - `faultline client`: one request to a reference-node cluster from the command line. */
#ifndef HARNESS_CLIENT_H
#define HARNESS_CLIENT_H

/* Runs `faultline client` with argv[0] = "client". Returns the exit status:
 * 0 ok, 1 definite failure (e.g. cas mismatch), 2 unknown outcome, 3 usage or
 * connection error (each non-zero status with one line on stderr). */
int harness_client_main(int argc, char **argv);

#endif
