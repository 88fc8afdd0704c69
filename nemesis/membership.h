/* membership.h - membership fault kinds, sent through nemesis_node_ops.membership (the
 * cluster's own membership call: for the reference node, client requests to the leader).
 *
 *   membership-remove-add   remove the target from the cluster; heal: add it back as a voter
 *                           with the same addresses
 *   membership-promote      promote the target (a passive member); heal: nothing
 * apply (and the remove's heal) return NEMESIS_PENDING: the caller records the
 * outcome when the cluster answers. */
#ifndef NEMESIS_MEMBERSHIP_H
#define NEMESIS_MEMBERSHIP_H

#include "nemesis/fault.h"

extern const struct nemesis_kind nemesis_membership_remove_add;
extern const struct nemesis_kind nemesis_membership_promote;

#endif
