/*
 * Per-user ports on a shared machine (Remote Desktop, fast user switching): with
 * [proxy] port_range_start..port_range_end set (or the PortRangeStart/End policy), the
 * range is cut into slots of one port per listener that is on, and each user's companion
 * listens on one slot. The slot it used is saved in its state directory, so the ports
 * Outlook's bridged accounts point to stay the same from one start to the next; a new
 * user starts at a slot derived from its state directory and takes the first free one
 * from there. See docs/config.md.
 */
#ifndef XB_PORTRANGE_H
#define XB_PORTRANGE_H

#include <stdbool.h>

#include "core/config.h"

/* How many slots of `width` ports the range holds (0 when no range is set). */
unsigned xb_portrange_slots(const struct xb_config *cfg, unsigned width);

/* The slot to try first; *saved tells whether it is the one saved last time. */
unsigned xb_portrange_first_slot(const struct xb_config *cfg, unsigned width, bool *saved);

/* The first port of a slot. */
unsigned xb_portrange_port(const struct xb_config *cfg, unsigned width, unsigned slot);

/* Remembers the slot in use for the next start (logged, not fatal, if it cannot). */
void xb_portrange_save(const struct xb_config *cfg, unsigned width, unsigned slot);

#endif
