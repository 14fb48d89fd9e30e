from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser


class EvidenceMultiPartParser(MultiPartParser):
    """DRF's multipart parser with the request's own parser class, which the evidence
    upload sets (``evidence.files.accept_evidence_files``) so a file name reaches the
    checks exactly as sent; DRF's always uses Django's default one."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        parser_class = getattr(request._request, "multipart_parser_class", DjangoMultiPartParser)
        encoding = parser_context.get("encoding", "utf-8")
        try:
            parser = parser_class(meta, stream, request.upload_handlers, encoding)
            data, files = parser.parse()
        except MultiPartParserError as error:
            raise ParseError(f"Multipart form parse error - {error}") from error
        return DataAndFiles(data, files)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested deeper than Python's JSON decoder goes (a
    few kilobytes of brackets) refused as malformed, as DRF refuses any other, and so is
    a string holding an unpaired surrogate (``"\\ud800"``): valid JSON syntax, but no
    character, which no field can hold and no answer repeating it can be written in."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply.") from error
        if holds_surrogate(data):
            raise ParseError(
                "JSON parse error - a string holds an unpaired surrogate (\\ud800 to "
                "\\udfff), which is no character."
            )
        return data


def holds_surrogate(value):
    """Whether a parsed JSON value holds a string that is not text (a pair of escaped
    surrogates is read as the one character it stands for). A walk, not a recursion:
    the body may be nested nearly as deep as the decoder goes."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
