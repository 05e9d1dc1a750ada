"""SameSurf API v3, mounted at /sandbox/samesurf/ (so …/api/v3/<method>).

Every operation is a POST of a JSON body; any other path under api/v3/ answers
SameSurf's envelope with errorcode 100 (through the same guard). Recording
links point beside the API, at recordings/<signed link>.
"""

from __future__ import annotations

from django.urls import path, re_path

from . import views

OPERATIONS = {
    "runningrooms": views.runningrooms,
    "create": views.create,
    "find": views.find,
    "createlimitedusetoken": views.createlimitedusetoken,
    "deletelimitedusetoken": views.deletelimitedusetoken,
    "screenrecordingpubliclink": views.screenrecordingpubliclink,
    "screenrecordingthumbnail": views.screenrecordingthumbnail,
    "screenrecordingimage": views.screenrecordingimage,
    "analyticsoverview": views.analyticsoverview,
    "analyticsrooms": views.analyticsrooms,
    "roomanalytics": views.roomanalytics,
    "reseller/createsubscription": views.createsubscription,
    "reseller/deletesubscription": views.deletesubscription,
    "reseller/createapikey": views.createapikey,
}

urlpatterns = [
    *(path(f"api/v3/{name}", op) for name, op in OPERATIONS.items()),
    path(
        "recordings/<str:signed>.png",
        views.recording_image,
        name="samesurf-sandbox-recording",
    ),
    path(
        "recordings/<str:signed>/",
        views.recording_page,
        name="samesurf-sandbox-recording-page",
    ),
    re_path(r"^api/v3/", views.unknown),
]
