/* scenario_json.h - a scenario written back as JSON (scenario.json of a run) and compared. */
#ifndef HARNESS_SCENARIO_JSON_H
#define HARNESS_SCENARIO_JSON_H

#include <jansson.h>
#include <stdbool.h>

struct harness_scenario;

/* Returns a new reference: the scenario as run, every field written out with
 * its value (defaults included, the seed when set), in the file format, so
 * harness_scenario_from_json gives back an equal struct. NULL on OOM. */
json_t *harness_scenario_to_json(const struct harness_scenario *s);

/* Returns a new reference: implementation.options.binary, args and the
 * foreign options (harness/foreign.h) as one JSON object, as adapters read
 * them. NULL on OOM. */
json_t *harness_scenario_impl_options(const struct harness_scenario *s);

/* True when two scenarios have the same content (all fields compared). */
bool harness_scenario_equal(const struct harness_scenario *a, const struct harness_scenario *b);

#endif
