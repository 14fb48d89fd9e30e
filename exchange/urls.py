from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    # cases/export.csv, .jsonl, .xlsx; the CSV's address is the one the list always had.
    path("cases/export.<str:format>", views.case_export, name="case_export"),
]
