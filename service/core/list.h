/*
 * The one intrusive doubly-linked list of the tree: an object embeds a struct
 * xb_list_node and is found again from it with XB_LIST_ITEM (container_of). Used for the
 * proxy's sessions, the control channel's connections and the HTTP client's requests
 * and sockets. Newest first; removal is O(1) and safe for a node not in the list.
 */
#ifndef XB_LIST_H
#define XB_LIST_H

#include <stddef.h>

struct xb_list_node {
    struct xb_list_node *prev, *next;
};

struct xb_list {
    struct xb_list_node *first;
};

#define XB_LIST_ITEM(node, type, member) \
    ((type *)(void *)((char *)(node) - offsetof(type, member)))
/* The first item, or NULL. */
#define XB_LIST_FIRST(list, type, member) \
    ((list)->first ? XB_LIST_ITEM((list)->first, type, member) : (type *)NULL)
/* The item after item, or NULL. */
#define XB_LIST_NEXT(item, type, member) \
    ((item)->member.next ? XB_LIST_ITEM((item)->member.next, type, member) : (type *)NULL)
/* Every item; the next one is taken before the body runs, so the body may remove (and
 * free) the current one. */
#define XB_LIST_EACH(var, nextvar, list, type, member)                                 \
    for (type *var = XB_LIST_FIRST(list, type, member),                                \
              *nextvar = var ? XB_LIST_NEXT(var, type, member) : NULL;                 \
         var; var = nextvar, nextvar = var ? XB_LIST_NEXT(var, type, member) : NULL)

static inline void xb_list_push(struct xb_list *list, struct xb_list_node *node)
{
    node->prev = NULL;
    node->next = list->first;
    if (list->first)
        list->first->prev = node;
    list->first = node;
}

static inline void xb_list_remove(struct xb_list *list, struct xb_list_node *node)
{
    if (node->prev)
        node->prev->next = node->next;
    else if (list->first == node)
        list->first = node->next;
    if (node->next)
        node->next->prev = node->prev;
    node->prev = node->next = NULL;
}

#endif
