"""SameSurf rooms as activities: the room link of a batch is built without a
context-local lookup per row."""

from unittest import mock

from django.urls import reverse

from cobrowse_portal.core import urlcache
from vendors.samesurf import activity


def test_room_links_of_a_batch_read_the_urlconf_once(db):
    account = mock.Mock(pk=3)
    real = urlcache.get_urlconf
    reads = mock.Mock(side_effect=real)
    # Wherever it is looked up from (this module or urlcache).
    with (
        mock.patch.object(urlcache, "get_urlconf", reads),
        mock.patch.object(activity, "get_urlconf", reads, create=True),
        urlcache.held(),
    ):
        links = [activity.room_link(account, pk) for pk in range(1, 101)]
    assert links[6] == reverse(activity.ROOM_PAGE, kwargs={"account_id": 3, "pk": 7})
    assert len(set(links)) == 100
    assert reads.call_count == 1
