/* packet.h - packet fault kinds: loss, duplication (nft in the hub), delay and reordering (the
 * NFQUEUE delayer).
 *
 * All act on every link between nodes (client traffic from the hub is not
 * forwarded by the bridge, so it is never affected).
 *   loss       `numgen random mod 100 < x drop` in the hub's `table bridge nemesis`
 *              (shared with partitions). value {"percent":x,"links":{...}}
 *   duplicate  `table netdev nemesis_dup`: on ingress of each node's hub port,
 *              `ip daddr D numgen random mod 100 < x dup to "<D's port>"`.
 *              value {"percent":x,"links":{...}}
 *   delay      delay +- jitter per packet, one way (an RTT gets it twice); with
 *              opts.delay_reorder_percent (default 0) a share released at once.
 *   reorder    the same, with opts.reorder_percent (default 25) of the packets released
 *              at once, ahead of the held ones.
 *              value {"delay_ms":d,"jitter_ms":j,"reorder_percent":r,"links":{...}}
 * Delay uses tc netem on the hub ports (per destination) when the kernel has
 * it (ctx->netem), else iptables `-j NFQUEUE --queue-bypass` rules in the hub
 * FORWARD chain, fed to `iptables-restore --noflush` in one exec, and the
 * delayer of delayer.h. One delay fault at a time. */
#ifndef NEMESIS_PACKET_H
#define NEMESIS_PACKET_H

#include "nemesis/fault.h"

extern const struct nemesis_kind nemesis_packet_loss;
extern const struct nemesis_kind nemesis_packet_duplicate;
extern const struct nemesis_kind nemesis_packet_delay;
extern const struct nemesis_kind nemesis_packet_reorder;

/* Internal: remove the duplication table / the delay rules and the delayer
 * (used by heal and nemesis_ctx_close). */
int nemesis__packet_dup_clear(struct nemesis_ctx *ctx, char *errmsg);
int nemesis__packet_delay_clear(struct nemesis_ctx *ctx, char *errmsg);

#endif
