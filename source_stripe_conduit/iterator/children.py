"""A parent's children (an invoice's lines, a customer's payment methods), and the requests a
page fans out, side by side.

The snapshot and change capture take children with the same call, so a row is the same
whichever of them produced it. Where the parent embeds its children's first page (an invoice's
``lines``, a subscription's ``items``) and that page is all of them, the children come from the
parent, without a request: Stripe renders the embedded list's items with the same schema as the
list's own at a given API version (a test holds the generated schemas to that). Only parents
whose embedded list has more are listed.

A page's fan-out (the children of its parents, objects fetched again) runs in the sync's one
pool (``StripeClient.fan_out``), never one request after another inside a page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from source_stripe_conduit.resources import Resource
from source_stripe_conduit.transport.client import Params, StripeClient
from source_stripe_conduit.transport.errors import StripeError

# Times one parent's children are read again from the start when the child a page started
# after was deleted meanwhile; beyond that the list is changing too fast to read whole.
MAX_CHILD_RESTARTS = 3


def children_of(client: StripeClient, resource: Resource,
                parent_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every child of each parent, listed side by side."""
    return client.fan_out(lambda parent_id: list_children(client, resource, parent_id),
                          parent_ids)


def children(client: StripeClient, resource: Resource,
             parents: Mapping[str, Mapping[str, Any] | None]) -> dict[str, list[dict[str, Any]]]:
    """Every child of each parent id: from the parent object given beside it where that embeds
    all its children, listed otherwise (None beside an id: list it)."""
    found, to_list = embedded_children(resource, parents)
    found.update(children_of(client, resource, to_list))
    return found


def embedded_children(resource: Resource, parents: Mapping[str, Mapping[str, Any] | None]
                      ) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The children of each parent that embeds them all, and the ids of the parents to list.
    Only the children are kept, not their parents: a page of invoices is large, and its
    listings can take a while under the child list's rate limit."""
    found: dict[str, list[dict[str, Any]]] = {}
    to_list: list[str] = []
    for parent_id, parent in parents.items():
        embedded = complete_embedded(resource, parent) if parent is not None else None
        if embedded is None:
            to_list.append(parent_id)
        else:
            found[parent_id] = embedded
    return found, to_list


def complete_embedded(resource: Resource,
                      parent: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The children ``parent`` embeds when that is all of them; None when they must be listed
    (more than the first page, no embedded list, or one Stripe did not render as expected)."""
    page = embedded_page(resource, parent)
    return page[0] if page is not None and page[1] else None


def embedded_page(resource: Resource,
                  parent: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool] | None:
    """The children ``parent`` embeds (its list's first page) and whether they are all of them;
    None when it embeds no list."""
    nested = parent.get(resource.embedded) if resource.embedded else None
    if not isinstance(nested, Mapping) or not isinstance(nested.get("data"), list):
        return None
    data: list[Any] = nested["data"]
    found = [child for child in data if isinstance(child, dict)
             and child.get("object") == resource.object and child.get("id")]
    whole = nested.get("object") == "list" and nested.get("has_more") is False \
        and len(found) == len(data)
    return found, whole


def list_children(client: StripeClient, resource: Resource,
                  parent_id: str) -> list[dict[str, Any]]:
    """Every child of one parent, all pages."""
    path, parent_params = resource.children_request(parent_id)
    children: list[dict[str, Any]] = []
    cursor: str | None = None
    restarts = 0
    while True:
        params: Params = [*parent_params, ("limit", 100),
                          *([("starting_after", cursor)] if cursor else [])]
        try:
            page = client.list_page(resource.stream, path, params)
        except StripeError as error:
            if error.status == 404 and error.resource_missing:
                # The parent was deleted after it was listed (or after its event): it has no
                # children any more, and its own deletion says what becomes of them.
                return []
            if cursor and error.resource_missing and error.param == "starting_after" \
                    and restarts < MAX_CHILD_RESTARTS:
                # The child we paged from was deleted meanwhile. Children lists are short and
                # have no created filter to resume by: read this parent's list again.
                restarts += 1
                children, cursor = [], None
                continue
            raise
        children.extend(page.data)
        if not page.has_more or not page.data:
            return children
        cursor = page.data[-1]["id"]
