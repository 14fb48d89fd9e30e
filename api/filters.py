"""The case list's filters, search and sort, through django-filter's DRF backend: the
FilterSet is tracker.filters.CaseFilter itself, so the API filters as the page does."""

from django_filters.rest_framework import DjangoFilterBackend

from .problems import InvalidQuery


class CaseFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            # The page shows such values next to their fields and filters by the rest;
            # a script must learn that its filter was not applied.
            raise InvalidQuery(
                {
                    name: [str(message) for message in messages]
                    for name, messages in filterset.errors.items()
                }
            )
        return filterset.qs
