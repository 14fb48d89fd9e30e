from django.urls import path

from . import views

app_name = "tracker"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_create, name="case_create"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/edit/", views.case_edit, name="case_edit"),
    path("cases/<int:pk>/evidence/new/", views.evidence_add, name="evidence_add"),
    path("cases/<int:pk>/evidence/<int:item_pk>/edit/", views.evidence_edit, name="evidence_edit"),
    path("cases/<int:pk>/<str:action>/", views.case_transition, name="case_transition"),
]
