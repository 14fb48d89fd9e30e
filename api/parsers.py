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
    few kilobytes of brackets) refused as malformed, as DRF refuses any other."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply.") from error
