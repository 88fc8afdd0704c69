/* json.c - jansson helpers for figures (see json.h). */
#include "common/json.h"

#include <math.h>

double fl_json_number(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

json_t *fl_json_real(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}
