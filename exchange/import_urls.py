from django.urls import path

from . import import_views as views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="list"),
    path("template.<str:kind>", views.import_template, name="template"),
    path("<int:pk>/", views.import_job, name="job"),
    path("<int:pk>/progress.json", views.import_progress, name="progress"),
    path("<int:pk>/confirm/", views.import_confirm, name="confirm"),
]
