#include "core/json.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "core/mem.h"

static void wipe(cJSON *item)
{
    for (; item; item = item->next) {
        if (item->valuestring && !(item->type & cJSON_IsReference))
            xb_wipe(item->valuestring, strlen(item->valuestring));
        if (item->string && !(item->type & cJSON_StringIsConst))
            xb_wipe(item->string, strlen(item->string));
        if (!(item->type & cJSON_IsReference))
            wipe(item->child);
    }
}

void xb_json_free(cJSON *root)
{
    wipe(root);
    cJSON_Delete(root);
}
