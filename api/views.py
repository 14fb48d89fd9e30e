"""The API's views. Each finds its object among those the user may see (others are a
404, as on the pages), checks what the user may do with the domain's own checks, and
calls the one domain function that does the work: ``workflow.perform``,
``custody.add_evidence``, the case form's ``save``, ``Source.propose``."""

from django.db import transaction
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, negotiation, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from evidence import custody
from evidence.corroboration import summary_of, with_summary
from evidence.files import accept_evidence_files
from evidence.models import EvidenceItem, Source
from evidence.views import file_response
from exchange import imports, tasks
from exchange.columns import exportable
from exchange.exports import RESPONSES, XLSX_TYPE
from exchange.models import ImportJob
from exchange.reading import FileRefused
from exchange.uploads import limit_import_uploads, too_large_message, upload_too_large
from tracker import workflow
from tracker.filters import CaseFilter
from tracker.models import Case, SanctionsProvision, WeaponSystem, works_on_cases
from tracker.views import decision

from . import serializers
from .filters import CaseFilterBackend
from .pagination import KeysetPagination
from .parsers import EvidenceMultiPartParser, JSONParser
from .problems import Conflict

REFERENCE = OpenApiParameter(
    "reference", OpenApiTypes.STR, OpenApiParameter.PATH, description="e.g. CASE-2024-0001"
)


def visible_case(request, reference, queryset=None):
    queryset = queryset if queryset is not None else Case.objects.all()
    return get_object_or_404(queryset.visible_to(request.user), reference=reference)


class CaseList(generics.ListCreateAPIView):
    """Cases you may see, with the case list's filters, search and sort
    (``sort=-date``, ``sort=sources`` …), newest first by default, a page at a time."""

    filter_backends = [CaseFilterBackend]
    filterset_class = CaseFilter
    pagination_class = KeysetPagination

    def get_queryset(self):
        # The case list page's own queryset (tracker.views.filtered_cases).
        return (
            Case.objects.visible_to(self.request.user)
            .only(*serializers.CaseListSerializer.COLUMNS)
            .order_by("-created_at", "-pk")
            .prefetch_related(
                Prefetch("weapon_systems", WeaponSystem.objects.only("id", "name"), "weapons")
            )
        )

    def get_serializer_class(self):
        if self.request.method == "POST":
            return serializers.CaseWriteSerializer
        return serializers.CaseListSerializer

    @extend_schema(
        request=serializers.CaseWriteSerializer,
        responses={201: serializers.CaseWrittenSerializer},
        summary="Log a case (monitors); it is saved as a draft, with any possible duplicates",
    )
    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("tracker.add_case"):
            raise PermissionDenied("Only monitors can log a case.")
        serializer = serializers.CaseWriteSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        candidates = serializer.form.possible_duplicates(request.user)
        case = serializer.save()
        return Response(
            case_detail(request, case.reference, possible_duplicates=candidates),
            status=status.HTTP_201_CREATED,
        )


class IgnoreAccept(negotiation.DefaultContentNegotiation):
    """The export's format is its address's; the answer's renderer is JSON, for the
    errors (problem details), whatever the client accepts."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


EXPORT_TYPES = {
    "csv": "text/csv",
    "jsonl": "application/jsonl",
    "xlsx": XLSX_TYPE,
}


class CaseExport(generics.GenericAPIView):
    """Every case of the list, filtered, searched and sorted as ``/api/v1/cases/`` is,
    as one file of the exports' columns (``exchange/columns.py``): CSV, JSON Lines or
    XLSX. Streamed, whatever the number of cases."""

    filter_backends = [CaseFilterBackend]
    filterset_class = CaseFilter
    content_negotiation_class = IgnoreAccept
    pagination_class = None

    def get_queryset(self):
        return Case.objects.visible_to(self.request.user).order_by("-created_at", "-pk")

    @extend_schema(
        summary="Export the cases as a file",
        operation_id="cases_export",
        # The list's filters, which a view that is not a list is otherwise not given.
        filters=True,
        parameters=[
            # Not "format": DRF and the schema would take the address for a format
            # suffix of another endpoint's.
            OpenApiParameter(
                "extension", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(EXPORT_TYPES)
            )
        ],
        responses={
            (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
            for media_type in EXPORT_TYPES.values()
        },
    )
    def get(self, request, extension):
        if extension not in RESPONSES:
            raise NotFound("No such export format: csv, jsonl or xlsx.")
        cases = self.filter_queryset(self.get_queryset())
        return RESPONSES[extension](exportable(cases), works_on_cases(request.user))


def case_detail(request, reference, possible_duplicates=None):
    """The case's body; with ``possible_duplicates`` (after a write), those too."""
    case = visible_case(
        request,
        reference,
        with_summary(Case.objects.with_changes_reason()).select_related(
            "created_by", "assigned_reviewer"
        ),
    )
    case.corroboration = summary_of(case)
    # A stakeholder reads the decision, its date and an approval's justification, and
    # no name or comment: as on the case's page (the serializer nulls the names).
    if works_on_cases(request.user):
        case.timeline = list(case.transitions.select_related("actor"))
        case.decision = decision(case, case.timeline)
    else:
        case.corroboration = case.corroboration.for_readers()
        case.timeline = []
        case.decision = decision(case)
    case.actions_open = [action.name for action in workflow.available_actions(case, request.user)]
    visible = Case.objects.visible_to(request.user)
    case.duplicate_of_reference = (
        visible.filter(pk=case.duplicate_of_id).values_list("reference", flat=True).first()
        if case.duplicate_of_id
        else None
    )
    case.duplicate_references = list(
        visible.filter(duplicate_of=case).order_by("reference").values_list("reference", flat=True)
    )
    if possible_duplicates is None:
        return serializers.CaseDetailSerializer(case, context={"request": request}).data
    case.possible_duplicates = possible_duplicates
    return serializers.CaseWrittenSerializer(case, context={"request": request}).data


@extend_schema(parameters=[REFERENCE])
class CaseDetail(APIView):
    """One case: every field, its weapon systems and provisions, its corroboration and
    review timeline, and the actions you may take on it now."""

    @extend_schema(responses=serializers.CaseDetailSerializer)
    def get(self, request, reference):
        return Response(case_detail(request, reference))

    @extend_schema(
        request=serializers.CaseWriteSerializer,
        responses=serializers.CaseWrittenSerializer,
        summary="Change a case (its creator, while a draft or sent back for changes)",
    )
    def patch(self, request, reference):
        case = visible_case(request, reference)
        case.check_may_edit(request.user)
        serializer = serializers.CaseWriteSerializer(
            case, data=request.data, partial=True, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        candidates = serializer.form.possible_duplicates(request.user)
        with transaction.atomic():
            case.lock_for_edit(request.user)
            serializer.save()
        return Response(case_detail(request, reference, possible_duplicates=candidates))


@extend_schema(
    parameters=[
        REFERENCE,
        OpenApiParameter(
            "action", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(workflow.ACTIONS)
        ),
    ]
)
class CaseAction(APIView):
    """Take a workflow action on a case, under the workflow's rules: 403 when you may
    never take it (only reviewers review; nobody reviews their own case), 409 when it
    cannot happen now (the case is not in a state the action applies to, lacks
    evidence or corroboration, or a reason is missing; a duplicate of itself or of a
    case that is its duplicate), with the workflow's message. ``mark_duplicate`` takes
    ``of``, the original's reference: 400 when it is missing or names no case you see."""

    @extend_schema(
        request=serializers.ActionSerializer,
        responses={200: serializers.CaseDetailSerializer},
        summary="Submit, start review, approve, reject, request changes, withdraw, mark as a "
        "duplicate (with `of`) or reopen",
    )
    def post(self, request, reference, action):
        case = visible_case(request, reference)
        if action not in workflow.ACTIONS:
            raise NotFound(
                f"There is no workflow action called {action!r}; the actions are "
                f"{', '.join(workflow.ACTIONS)}."
            )
        # Who may never act is told so (403) before what they sent is read (400).
        refusal = workflow.ACTIONS[action].refusal(request.user, case)
        if refusal:
            raise workflow.TransitionForbidden(refusal)
        body = serializers.ActionSerializer(
            data=request.data, context={"request": request, "action": action}
        )
        body.is_valid(raise_exception=True)
        workflow.perform(case, action, request.user, **body.validated_data)
        return Response(case_detail(request, reference))


@extend_schema(parameters=[REFERENCE])
class CaseEvidence(APIView):
    """A case's evidence items; adding one (with an optional file) goes through the
    same checks, file store and chain of custody as the evidence page."""

    parser_classes = [JSONParser, EvidenceMultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Files sent here are hashed and checked as they arrive, into the evidence
        # store's incoming folder; set before anything reads the body.
        if request.method == "POST":
            accept_evidence_files(request)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(responses=serializers.EvidenceItemSerializer(many=True))
    def get(self, request, reference):
        case = visible_case(request, reference)
        items = EvidenceItem.objects.filter(case=case).select_related(
            "source", "reporting_outlet", "file", "added_by"
        )
        data = serializers.EvidenceItemSerializer(items, many=True, context={"request": request})
        return Response(data.data)

    @extend_schema(
        request={
            "multipart/form-data": serializers.EvidenceCreateSerializer,
            "application/json": serializers.EvidenceCreateSerializer,
        },
        responses={201: serializers.EvidenceItemSerializer},
        summary="Add an evidence item, optionally with a file (its creator, while a draft "
        "or sent back for changes)",
    )
    def post(self, request, reference):
        case = visible_case(request, reference)
        # Refused before the body is read: nobody else's file reaches the store.
        custody.check_may_add_evidence(request.user, case)
        body = serializers.EvidenceCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        form = body.form
        # The file as the form checked it, as the pages hand it over.
        item = custody.add_evidence(case, request.user, **form.item_values(), **form.file_values())
        data = serializers.EvidenceItemSerializer(item, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, "The file, as an attachment")},
)
class EvidenceFile(APIView):
    """An evidence item's file, through the same checked path as the pages' download:
    an attachment of its detected type with ``nosniff``, written to the chain of
    custody."""

    def get(self, request, id):
        return file_response(request.user, id, sent=request.method != "HEAD")


def visible_sources(user):
    """The sources ``user`` may read of: the team, every one; a stakeholder, those its
    approved cases cite, as their case pages show them (a source proposed for a draft
    is the team's work in progress)."""
    if not user.has_perm("evidence.view_source"):
        raise PermissionDenied("You may not see sources.")
    if works_on_cases(user):
        return Source.objects.all()
    cases = Case.objects.visible_to(user)
    return Source.objects.filter(
        Q(evidence__case__in=cases) | Q(reported_evidence__case__in=cases)
    ).distinct()


class SourceList(generics.ListCreateAPIView):
    """Sources by name. Proposing one (monitors) adds it ungraded (F) until a reviewer
    grades it."""

    pagination_class = KeysetPagination

    def get_queryset(self):
        return visible_sources(self.request.user).order_by("name", "pk")

    def get_serializer_class(self):
        if self.request.method == "POST":
            return serializers.SourceProposalSerializer
        return serializers.SourceSerializer

    @extend_schema(
        request=serializers.SourceProposalSerializer,
        responses={201: serializers.SourceSerializer},
        summary="Propose a source (monitors); it stays ungraded until a reviewer grades it",
    )
    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("evidence.add_source"):
            raise PermissionDenied("You may not propose sources.")
        body = serializers.SourceProposalSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        source = body.save()
        return Response(
            serializers.SourceSerializer(source, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class SourceDetail(generics.RetrieveAPIView):
    serializer_class = serializers.SourceSerializer

    def get_queryset(self):
        return visible_sources(self.request.user)


class WeaponSystemList(generics.ListAPIView):
    """Every weapon system (the case list's weapon_system filter takes their ids)."""

    serializer_class = serializers.WeaponSystemSerializer
    queryset = WeaponSystem.objects.all()


class SanctionsProvisionList(generics.ListAPIView):
    """Every sanctions provision (the case list's sanctions_provision filter takes their
    ids)."""

    serializer_class = serializers.SanctionsProvisionSerializer
    queryset = SanctionsProvision.objects.all()


class UnknownEndpoint(APIView):
    """Any other path under /api/: a 404 in the API's own format."""

    permission_classes = []
    schema = None

    def unknown(self, request, *args, **kwargs):
        raise NotFound("There is no such API endpoint; the endpoints are at /api/v1/docs/.")

    get = post = put = patch = delete = head = options = unknown


class ImportList(APIView):
    """Your imports of cases from CSV, XLSX or JSON Lines files. Posting a file starts its
    preview (a dry run: every row checked by the case form, nothing saved); confirm it to
    import."""

    parser_classes = [MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # The file is counted while it arrives; set before anything reads the body.
        if request.method == "POST":
            limit_import_uploads(request)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(responses=serializers.ImportJobSerializer(many=True))
    def get(self, request):
        imports.check_may_import(request.user)
        jobs = imports.with_earlier_import(ImportJob.objects.filter(created_by=request.user))[:50]
        return Response(
            serializers.ImportJobSerializer(jobs, many=True, context={"request": request}).data
        )

    @extend_schema(
        request={"multipart/form-data": serializers.ImportUploadSerializer},
        responses={202: serializers.ImportJobSerializer},
        summary="Upload a file of cases: its preview runs in the background (monitors)",
    )
    def post(self, request):
        imports.check_may_import(request.user)
        body = serializers.ImportUploadSerializer(data=request.data)
        valid = body.is_valid()
        if upload_too_large(request._request):
            raise ValidationError({"file": [too_large_message()]})
        if not valid:
            raise ValidationError(body.errors)
        try:
            job = imports.start(
                request.user, body.validated_data["file"], body.validated_data["create_missing"]
            )
        except FileRefused as refusal:
            raise ValidationError({"file": [str(refusal)]}) from refusal
        tasks.preview_import.delay_on_commit(job.pk)
        data = serializers.ImportJobSerializer(
            visible_job(request, job.pk), context={"request": request}
        ).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


def visible_job(request, id):
    jobs = imports.with_earlier_import(ImportJob.objects.all())
    if not request.user.is_superuser:
        jobs = jobs.filter(created_by=request.user)
    return get_object_or_404(jobs, pk=id)


@extend_schema(parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)])
class ImportDetail(APIView):
    """One of your imports: its status, counts and each row that changes or fails."""

    @extend_schema(responses=serializers.ImportJobSerializer)
    def get(self, request, id):
        job = visible_job(request, id)
        return Response(serializers.ImportJobSerializer(job, context={"request": request}).data)


@extend_schema(parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)])
class ImportConfirm(APIView):
    """Import a previewed file: 409 unless its preview is done and found no error; the
    import runs in the background, in one transaction (a row that fails then changes
    nothing)."""

    @extend_schema(request=None, responses={202: serializers.ImportJobSerializer})
    def post(self, request, id):
        job = visible_job(request, id)
        try:
            confirmed = imports.confirm(job, request.user)
        except imports.StalePreview as refusal:
            raise Conflict(str(refusal)) from refusal
        if not confirmed:
            raise Conflict(
                f"Import {job.pk} is {job.get_status_display().lower()}"
                + (f" with {job.errors} row error(s)" if job.errors else "")
                + ": only a preview without errors is imported, once."
            )
        tasks.apply_import.delay_on_commit(job.pk)
        data = serializers.ImportJobSerializer(
            visible_job(request, id), context={"request": request}
        ).data
        return Response(data, status=status.HTTP_202_ACCEPTED)
