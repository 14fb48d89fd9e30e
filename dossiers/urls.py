from django.urls import path

from . import views

app_name = "dossiers"
urlpatterns = [
    path("cases/", views.list_dossier, name="list"),
    path("cases.pdf", views.list_dossier_pdf, name="list_pdf"),
    path("cases/<int:pk>/", views.case_dossier, name="case"),
    path("cases/<int:pk>.pdf", views.case_dossier_pdf, name="case_pdf"),
    path("cases/<int:pk>/evidence.zip", views.evidence_package, name="package"),
]
