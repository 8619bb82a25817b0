/* Per-user slots of a port range, and the slot saved between starts: see portrange.h. */
#include "core/portrange.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "platform/platform.h"

#define SLOT_FILE "listen-ports"

unsigned xb_portrange_slots(const struct xb_config *cfg, unsigned width)
{
    if (!cfg->port_range_on || !cfg->port_range_start || !width ||
        cfg->port_range_end < cfg->port_range_start)
        return 0;
    return (cfg->port_range_end - cfg->port_range_start + 1) / width;
}

unsigned xb_portrange_port(const struct xb_config *cfg, unsigned width, unsigned slot)
{
    return cfg->port_range_start + slot * width;
}

static bool slot_path(const struct xb_config *cfg, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", cfg->state_dir, SLOT_FILE);
    return n > 0 && (size_t)n < size;
}

/* The saved first port, if it starts a slot of this range and width. */
static bool saved_slot(const struct xb_config *cfg, unsigned width, unsigned *slot)
{
    char path[4096], text[16];
    unsigned char *data = NULL;
    size_t len = 0;
    unsigned port = 0;
    if (!slot_path(cfg, path, sizeof(path)) ||
        xb_plat_file_read(path, &data, &len, sizeof(text) - 1) != XB_OK)
        return false;
    if (len)
        memcpy(text, data, len);
    text[len] = '\0';
    xb_free(data);
    size_t i = 0;
    while (text[i] >= '0' && text[i] <= '9' && port < 100000)
        port = port * 10 + (unsigned)(text[i++] - '0');
    if (i == 0 || (text[i] != '\0' && text[i] != '\n'))
        return false;
    if (port < cfg->port_range_start || (port - cfg->port_range_start) % width != 0)
        return false;
    *slot = (port - cfg->port_range_start) / width;
    return *slot < xb_portrange_slots(cfg, width);
}

unsigned xb_portrange_first_slot(const struct xb_config *cfg, unsigned width, bool *saved)
{
    unsigned slot;
    *saved = saved_slot(cfg, width, &slot);
    if (*saved)
        return slot;
    /* FNV-1a of the state directory, which differs per user: users spread over the
     * range instead of all probing from its start. */
    uint32_t h = 2166136261u;
    for (const char *p = cfg->state_dir; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return (unsigned)(h % xb_portrange_slots(cfg, width));
}

void xb_portrange_save(const struct xb_config *cfg, unsigned width, unsigned slot)
{
    char path[4096], text[16];
    int n = snprintf(text, sizeof(text), "%u\n", xb_portrange_port(cfg, width, slot));
    enum xb_err err = XB_ERR_INVAL;
    if (slot_path(cfg, path, sizeof(path)) && n > 0)
        err = xb_plat_file_replace(path, text, (size_t)n);
    if (err != XB_OK)
        xb_log_warn("cannot save the ports in use in %s/%s (%s): the next start may take "
                    "other ports", cfg->state_dir, SLOT_FILE, xb_err_str(err));
}
