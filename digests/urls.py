from django.urls import path

from . import views

app_name = "digests"

urlpatterns = [
    path("preview/<int:subscription_id>/", views.preview, name="preview"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("case/<str:token>/", views.approved_case, name="case"),
]
