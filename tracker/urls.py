from django.urls import path

from . import views

urlpatterns = [
    path(
        "digests/preview/<int:subscription_id>/",
        views.digest_preview,
        name="digest_preview",
    ),
    path("digests/unsubscribe/<str:token>/", views.unsubscribe, name="digest_unsubscribe"),
]
