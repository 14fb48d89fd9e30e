"""A URLconf whose only page fails, for the error page's test."""

from django.urls import path

from config.urls import handler500, urlpatterns


def fails(request):
    raise ZeroDivisionError("a fault of ours")


urlpatterns = [*urlpatterns, path("fails/", fails)]
__all__ = ["handler500", "urlpatterns"]
