from django.urls import path

from . import subscription_views, views

app_name = "digests"

urlpatterns = [
    path("preview/<int:subscription_id>/", views.preview, name="preview"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("subscription/", subscription_views.own_subscription, name="subscription"),
    path("case/<str:token>/", views.approved_case, name="case"),
]
