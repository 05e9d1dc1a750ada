import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in" in response.content


def test_dashboard_for_admin(personas, login):
    response = login(personas["admin"]).get(reverse("core:dashboard"))
    assert response.status_code == 200
    assert b"No vendor accounts yet" in response.content
