"""Errors as problem details (RFC 9457, ``application/problem+json``).

Every refusal names its reason in ``detail``; a request with invalid fields lists each
in ``errors``, as RFC 9457's own example does: ``{"pointer": "#/title", "detail": …}``
for a field of the body, ``{"parameter": "incident_from", "detail": …}`` for a query
parameter. The workflow's and the upload checks' own messages are passed on as they are.
"""

from http import HTTPStatus

from django.core import exceptions as django_exceptions
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler

from evidence.files import UploadRejected
from tracker import workflow

PROBLEM_JSON = "application/problem+json"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource is not in a state that allows this now."
    default_code = "conflict"


class InvalidQuery(exceptions.ValidationError):
    """Invalid query parameters: their errors name the parameter, not a pointer."""


class ProblemSerializer(serializers.Serializer):
    """The body of every error answer (for the schema; the handler writes it)."""

    type = serializers.CharField(help_text='"about:blank": the status says what happened.')
    title = serializers.CharField(help_text="The HTTP status's phrase.")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    errors = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        required=False,
        help_text='Each invalid field: {"pointer": "#/title", "detail": "…"} in the body, '
        '{"parameter": "incident_from", "detail": "…"} in the query.',
    )


def api_exception(exc):
    """The exception as one of DRF's, which carry their status; None for a fault."""
    if isinstance(exc, workflow.TransitionForbidden):
        return exceptions.PermissionDenied(str(exc))
    if isinstance(exc, workflow.TransitionError):
        return Conflict(str(exc))
    if isinstance(exc, UploadRejected):
        return exceptions.ValidationError({"upload": [str(exc)]})
    if isinstance(exc, django_exceptions.ValidationError):
        return exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, (django_exceptions.BadRequest, django_exceptions.SuspiciousOperation)):
        # An upload cut off half-way, a request too large to parse...
        return exceptions.ParseError(str(exc) or "The request could not be read.")
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or None)
    if isinstance(exc, django_exceptions.PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    return exc


def exception_handler(exc, context):
    exc = api_exception(exc)
    # DRF's handler sets the headers (WWW-Authenticate, Retry-After) and the status.
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = problem(response.status_code, exc)
    response.content_type = PROBLEM_JSON
    return response


def problem(status_code, exc):
    body = {"type": "about:blank", "title": HTTPStatus(status_code).phrase, "status": status_code}
    if isinstance(exc, exceptions.ValidationError):
        where = "parameter" if isinstance(exc, InvalidQuery) else "pointer"
        errors = list(field_errors(exc.detail, where))
        names = sorted({name_of(e) for e in errors} - {""})
        whole = [e["detail"] for e in errors if not name_of(e)]
        kind = "query parameters" if where == "parameter" else "fields"
        listed = [f"Invalid {kind}: {', '.join(names)}."] if names else []
        body["detail"] = " ".join(whole + listed) or "The request is invalid."
        body["errors"] = errors
    else:
        body["detail"] = str(exc.detail) if hasattr(exc, "detail") else str(exc)
    return body


def name_of(error):
    """The parameter or top-level field an error is about, "" for the whole body."""
    if "parameter" in error:
        return error["parameter"]
    parts = error["pointer"].split("/")
    return parts[1] if len(parts) > 1 else ""


NON_FIELD = {"non_field_errors", "__all__"}


def field_errors(detail, where, path=()):
    """(pointer or parameter, message) for every message in DRF's nested errors."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = path if key in NON_FIELD else (*path, str(key))
            yield from field_errors(value, where, inner)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            for message in detail:
                yield locate(where, path, message)
        else:
            for index, item in enumerate(detail):
                yield from field_errors(item, where, (*path, str(index)))
    else:
        yield locate(where, path, detail)


def locate(where, path, message):
    if where == "parameter" and path:
        return {"parameter": path[0], "detail": str(message)}
    pointer = "#" + "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in path)
    return {"pointer": pointer, "detail": str(message)}
