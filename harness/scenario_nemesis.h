/* scenario_nemesis.h - the nemesis section of a scenario file: kinds and their weights, an
 * explicit schedule, and every fault kind's options (nemesis.options.*, scenarios/README.md). */
#ifndef HARNESS_SCENARIO_NEMESIS_H
#define HARNESS_SCENARIO_NEMESIS_H

#include "harness/scenario_read.h"

/* Reads root["nemesis"] (when present) into s->nemesis. Returns 0 or FL_ESHAPE / FL_ELIMIT with
 * the message in c. */
int harness__parse_nemesis(struct harness__sc *c, json_t *root, struct harness_scenario *s);

#endif
