/* json.h - jansson helpers for the figures the programs read and write (NaN for "none"). */
#ifndef FL_JSON_H
#define FL_JSON_H

#include <jansson.h>

/* The number `v` holds (integer or real), or NaN when it is absent or not a number. */
double fl_json_number(const json_t *v);

/* A new reference: `v` as a JSON real, or null when it is NaN or infinite (JSON has neither). */
json_t *fl_json_real(double v);

#endif
