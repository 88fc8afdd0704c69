/* scenario_check.h - the cross-field rules of a scenario (nodes a fault kind needs, options
 * that go together, what an implementation or hosts can do). */
#ifndef HARNESS_SCENARIO_CHECK_H
#define HARNESS_SCENARIO_CHECK_H

#include <stdbool.h>

struct harness_scenario;
enum harness_fault;

/* Whether fault kind v can run with the nodes on hosts (scenario "hosts"). */
bool harness_fault_on_hosts(enum harness_fault v);

/* Checks the cross-field rules of an already filled scenario (used after
 * command-line overrides such as --nodes or --impl). Returns 0 or FL_ESHAPE
 * with errmsg "scenario NAME: field.path: problem". */
int harness_scenario_validate(const struct harness_scenario *s, const char *name, char *errmsg);

#endif
