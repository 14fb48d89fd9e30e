from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import pages, views

app_name = "api"


class ReferenceConverter:
    """A case reference (CASE-2024-0001): letters, digits and hyphens. Anything else
    (a NUL byte, which PostgreSQL refuses to compare) finds no case."""

    regex = r"[A-Za-z0-9-]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ReferenceConverter, "reference")

urlpatterns = [
    path("account/api-tokens/", pages.tokens, name="tokens"),
    path("account/api-tokens/<int:pk>/revoke/", pages.revoke, name="token_revoke"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/docs.html"),
        name="docs",
    ),
    path("api/v1/cases/", views.CaseList.as_view(), name="cases"),
    path("api/v1/cases/export.<slug:extension>", views.CaseExport.as_view(), name="case_export"),
    path("api/v1/cases/<reference:reference>/", views.CaseDetail.as_view(), name="case"),
    path(
        "api/v1/cases/<reference:reference>/actions/<slug:action>/",
        views.CaseAction.as_view(),
        name="case_action",
    ),
    path(
        "api/v1/cases/<reference:reference>/evidence/",
        views.CaseEvidence.as_view(),
        name="case_evidence",
    ),
    path("api/v1/evidence/<int:id>/file/", views.EvidenceFile.as_view(), name="evidence_file"),
    path("api/v1/sources/", views.SourceList.as_view(), name="sources"),
    path("api/v1/sources/<int:pk>/", views.SourceDetail.as_view(), name="source"),
    path("api/v1/weapon-systems/", views.WeaponSystemList.as_view(), name="weapon_systems"),
    path(
        "api/v1/sanctions-provisions/",
        views.SanctionsProvisionList.as_view(),
        name="sanctions_provisions",
    ),
    path("api/v1/imports/", views.ImportList.as_view(), name="imports"),
    path("api/v1/imports/<int:id>/", views.ImportDetail.as_view(), name="import"),
    path("api/v1/imports/<int:id>/confirm/", views.ImportConfirm.as_view(), name="import_confirm"),
    # Anything else under the API: a 404 as problem details, not the site's HTML page.
    re_path(r"^api/", views.UnknownEndpoint.as_view(), name="not_found"),
]
