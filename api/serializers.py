"""What the API reads and writes. Field types and limits come from the models (and so
into the schema); every rule beyond a field's type is the pages' own: a case is checked
and saved by the case form, an evidence item by the evidence form and ``add_evidence``,
a proposed source by ``Source.full_clean`` and ``Source.propose``."""

import copy
import zoneinfo

from django.conf import settings
from django.forms.models import model_to_dict
from django.utils.functional import cached_property
from django_countries.serializer_fields import CountryField
from django_countries.serializers import CountryFieldMixin
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from evidence.forms import MonitorEvidenceItemForm
from evidence.models import Credibility, EvidenceItem, Source
from exchange.models import Action, ImportJob, ImportRow
from tracker import workflow
from tracker.forms import CaseForm
from tracker.models import Case, SanctionsProvision, Transition, WeaponSystem, works_on_cases


class WeaponSystemSerializer(serializers.ModelSerializer):
    class Meta:
        model = WeaponSystem
        fields = ["id", "name", "category", "description"]


class SanctionsProvisionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = SanctionsProvision
        fields = ["id", "label", "resolution", "paragraph", "summary"]


class NamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


@extend_schema_field(NamedSerializer(many=True))
class NamedList(serializers.Field):
    """Related rows as id/name pairs, written straight from the rows loaded (only their
    id and name): a nested NamedSerializer binds and runs two fields for each of them,
    every weapon system of 50 cases a page. The schema is NamedSerializer's."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, rows):
        return [{"id": row.pk, "name": row.name} for row in rows]


class KeyField(serializers.PrimaryKeyRelatedField):
    """DRF's primary key field, with a number no key can be (``1e400``, which JSON reads
    as infinity) refused as naming no row: Django's lookup fails on it with an
    OverflowError, which DRF does not catch."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except OverflowError:
            self.fail("does_not_exist", pk_value=data)


# Mixins' notes are comments, not docstrings: the schema would take a docstring for the
# description of every serializer that has none of its own.


# A serializer of a request's body that refuses a field it does not take, rather than
# drop it unread: a misspelt field, or one that is only ever read ("state"), would
# otherwise be answered with a success that did nothing of what was asked.
class RefusesUnknownFields:
    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            taken = sorted(name for name, field in self.fields.items() if not field.read_only)
            unknown = sorted(set(data.keys()) - set(taken))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [f"This request takes no “{name}”; it takes {', '.join(taken)}."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


# A serializer whose REVIEW_RECORD fields are null for a reader of findings (a
# stakeholder: ``works_on_cases`` is false): who logged, reviewed or added what, and
# what the team wrote, are the team's review record, kept off their case page too.
class WithoutReviewRecord:
    REVIEW_RECORD = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not works_on_cases(self.context["request"].user):
            data.update(dict.fromkeys(self.REVIEW_RECORD))
        return data


class SourceSerializer(WithoutReviewRecord, CountryFieldMixin, serializers.ModelSerializer):
    REVIEW_RECORD = ("notes",)

    notes = serializers.CharField(
        read_only=True, allow_null=True, help_text="The team's notes on it; null for a stakeholder."
    )
    is_graded = serializers.BooleanField(
        read_only=True, help_text="False: proposed, not yet graded by a reviewer (F)."
    )

    class Meta:
        model = Source
        fields = ["id", "name", "kind", "country", "reliability", "is_graded", "notes", "graded_at"]
        read_only_fields = ["reliability", "graded_at"]


class SourceProposalSerializer(
    RefusesUnknownFields, CountryFieldMixin, serializers.ModelSerializer
):
    """A new source, proposed: it stays ungraded (F) until a reviewer grades it."""

    class Meta:
        model = Source
        fields = ["name", "kind", "country", "notes"]
        # Source.clean decides (a name that differs only in capitals is one source).
        extra_kwargs = {"name": {"validators": []}}

    def create(self, validated_data):
        source = Source(**validated_data)
        source.full_clean()
        source.propose(self.context["request"].user)
        return source


class CountryCodeField(CountryField):
    """A case's country as the code it stores ("KP", or "" for none).

    The model's field makes a Country object at each read and django-countries' field
    looks its code up again, through the active language, each time: three countries
    a row were a tenth of a list page's time. The stored value already is the code
    (the forms accept only the choices), so it is read from the row as it is; the
    field stays django-countries' own for reading input and for the schema."""

    def get_attribute(self, instance):
        if self.source in instance.__dict__:  # loaded, not deferred
            return instance.__dict__[self.source]
        return super().get_attribute(instance)

    def to_representation(self, value):
        return value if isinstance(value, str) else super().to_representation(value)


class CaseListSerializer(CountryFieldMixin, serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    weapon_systems = NamedList(source="weapons")
    supporting_sources = serializers.IntegerField(
        read_only=True,
        help_text="Independent supporting sources that count towards the minimum.",
    )
    refuting_sources = serializers.IntegerField(read_only=True)

    class Meta:
        model = Case
        fields = [
            "reference",
            "url",
            "title",
            "incident_type",
            "incident_start",
            "incident_end",
            "date_precision",
            "place_name",
            "country",
            "supplier_country",
            "recipient_country",
            "weapon_systems",
            "state",
            "state_changed_at",
            "supporting_sources",
            "refuting_sources",
            "created_at",
            "updated_at",
        ]

    # What a page of cases reads of each (api.views.CaseList): the fields shown and the
    # keys its order may use; not the summary or the search index's document.
    COLUMNS = ("id", *(name for name in Meta.fields if name not in ("url", "weapon_systems")))

    def get_fields(self):
        # ModelSerializer works every field out from the model anew for each serializer
        # made, three country fields of some 250 choices each among them: a tenth of a
        # list page's time. They come out the same each time, so they are worked out
        # once a class; each serializer still gets fields of its own to bind, as DRF
        # intends (nested serializers deep-copied as DRF copies them, a plain field
        # shallow-copied: it shares only its choices and validators, which it only reads).
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            type(self)._built_fields = built
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            else copy.copy(field)
            for name, field in built.items()
        }

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_class is serializers.DateTimeField:
            # The time zone the site shows times in (no request activates another):
            # named once, rather than looked up for each of three times a row.
            kwargs.setdefault("default_timezone", SITE_TIME_ZONE)
        return (CountryCodeField if field_class is CountryField else field_class), kwargs

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, case):
        return self.case_url.replace(URL_PLACEHOLDER, case.reference)

    @cached_property
    def case_url(self):
        # Resolved once for a page, not once a row: a reference is letters, digits and
        # hyphens (api.urls.ReferenceConverter), written in a URL as they are.
        return reverse("api:case", args=[URL_PLACEHOLDER], request=self.context.get("request"))


URL_PLACEHOLDER = "REFERENCE-0"
SITE_TIME_ZONE = zoneinfo.ZoneInfo(settings.TIME_ZONE) if settings.USE_TZ else None


class CorroborationSerializer(serializers.Serializer):
    supporting_sources = serializers.IntegerField(
        help_text="Independent supporting sources that count towards the minimum."
    )
    refuting_sources = serializers.IntegerField()
    minimum = serializers.IntegerField(help_text="CORROBORATION_MIN: approval needs this many.")
    meets_minimum = serializers.BooleanField()
    suggested_credibility = serializers.IntegerField(min_value=1, max_value=6)
    not_counted = serializers.CharField(
        help_text="Why some supporting sources do not count yet, or empty."
    )
    summary = serializers.CharField(source="__str__")


class DecisionSerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="to_state")
    justification = serializers.CharField(
        help_text="Why it was approved below the corroboration minimum; empty otherwise."
    )

    class Meta:
        model = Transition
        fields = ["state", "at", "justification"]


class TransitionSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.get_username")

    class Meta:
        model = Transition
        fields = ["action", "from_state", "to_state", "actor", "at", "comment", "justification"]


class CaseDetailSerializer(WithoutReviewRecord, CaseListSerializer):
    REVIEW_RECORD = ("created_by", "assigned_reviewer", "changes_reason")

    weapon_systems = WeaponSystemSerializer(many=True, read_only=True)
    sanctions_provisions = SanctionsProvisionSerializer(many=True, read_only=True)
    created_by = serializers.CharField(
        source="created_by.get_username",
        read_only=True,
        allow_null=True,
        help_text="Null for a stakeholder, as are the reviewer and the reason for changes.",
    )
    assigned_reviewer = serializers.CharField(
        source="assigned_reviewer.get_username", read_only=True, allow_null=True
    )
    changes_reason = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Why a reviewer last sent the case back for changes, if ever.",
    )
    corroboration = CorroborationSerializer(read_only=True)
    decision = DecisionSerializer(
        read_only=True,
        allow_null=True,
        help_text="The approval or rejection as the case stands, or null while undecided.",
    )
    review_timeline = TransitionSerializer(
        source="timeline",
        many=True,
        read_only=True,
        help_text="Every step, who took it and what they wrote; empty for a stakeholder.",
    )
    actions = serializers.ListField(
        child=serializers.CharField(),
        source="actions_open",
        read_only=True,
        help_text="The workflow actions you may take on the case now (POST …/actions/{action}/).",
    )
    evidence = serializers.SerializerMethodField()
    duplicate_of = serializers.CharField(
        source="duplicate_of_reference",
        read_only=True,
        allow_null=True,
        help_text="The reference of the case this one was marked as a duplicate of, if you "
        "may see it.",
    )
    duplicates = serializers.ListField(
        source="duplicate_references",
        child=serializers.CharField(),
        read_only=True,
        help_text="The references of the cases you may see marked as duplicates of this one.",
    )

    class Meta(CaseListSerializer.Meta):
        fields = [
            *CaseListSerializer.Meta.fields[:3],
            "summary",
            *CaseListSerializer.Meta.fields[3:8],
            "latitude",
            "longitude",
            "supplier_country",
            "recipient_country",
            "weapon_systems",
            "reported_quantity",
            "sanctions_provisions",
            "state",
            "state_changed_at",
            "created_by",
            "assigned_reviewer",
            "changes_reason",
            "corroboration",
            "decision",
            "review_timeline",
            "actions",
            "duplicate_of",
            "duplicates",
            "evidence",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_evidence(self, case):
        return reverse(
            "api:case_evidence", args=[case.reference], request=self.context.get("request")
        )


class PossibleDuplicateSerializer(serializers.Serializer):
    reference = serializers.CharField(source="case.reference")
    url = serializers.SerializerMethodField()
    title = serializers.CharField(source="case.title")
    state = serializers.CharField(source="case.state")
    score = serializers.FloatField(
        help_text="How alike the two read, 0 to 1 (at least DUPLICATE_MIN_SCORE)."
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, candidate):
        return reverse(
            "api:case", args=[candidate.case.reference], request=self.context.get("request")
        )


class CaseWrittenSerializer(CaseDetailSerializer):
    """The case as saved, with the cases it may duplicate: a warning, not a refusal."""

    possible_duplicates = PossibleDuplicateSerializer(
        many=True,
        read_only=True,
        help_text="Cases you may see that may report the same incident (same days within "
        "DUPLICATE_WINDOW_DAYS, the same place, country or a weapon system, a similar title "
        "and summary), best first. The case is saved all the same; a reviewer may mark it "
        "as a duplicate. Checked on a new case and when an edit changes the incident.",
    )

    class Meta(CaseDetailSerializer.Meta):
        fields = [*CaseDetailSerializer.Meta.fields, "possible_duplicates"]


def form_data(values):
    return {name: form_value(value) for name, value in values.items()}


def form_errors(form):
    """The form's errors, field by field ("__all__" for the whole form)."""
    return {
        name: [error["message"] for error in errors]
        for name, errors in form.errors.get_json_data().items()
    }


def form_value(value):
    """A model value as a form takes it: related objects by primary key."""
    if isinstance(value, (list, tuple)):
        return [form_value(item) for item in value]
    if hasattr(value, "pk"):
        return value.pk
    if value is None:
        return ""
    return value


class CaseWriteSerializer(RefusesUnknownFields, CountryFieldMixin, serializers.ModelSerializer):
    """A case's fields as the case form takes them. The serializer checks their types;
    the form (CaseForm, with the model's own checks) decides and saves, as on the
    monitors' pages."""

    serializer_related_field = KeyField

    class Meta:
        model = Case
        fields = CaseForm.Meta.fields

    def validate(self, attrs):
        # What the request leaves out is what the case has (or a new one's defaults).
        data = model_to_dict(self.instance or Case(), fields=CaseForm.Meta.fields)
        data.update(attrs)
        self.form = CaseForm(form_data(data), instance=self.instance)
        if not self.form.is_valid():
            raise serializers.ValidationError(form_errors(self.form))
        return attrs

    def create(self, validated_data):
        self.form.instance.created_by = self.context["request"].user
        return self.form.save()

    def update(self, instance, validated_data):
        return self.form.save()


class StoredFileSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField(help_text="Read from the bytes on arrival.")


# Declared, not derived: the model's small integer would bring the database's own range
# into the schema, which would then differ between SQLite and PostgreSQL.
def credibility_field(**options):
    return serializers.ChoiceField(
        choices=Credibility.choices, help_text="Information credibility, 1 to 6.", **options
    )


class EvidenceItemSerializer(WithoutReviewRecord, serializers.ModelSerializer):
    REVIEW_RECORD = ("added_by",)

    credibility = credibility_field(read_only=True)
    source = NamedSerializer(read_only=True)
    source_reliability = serializers.CharField(source="source.reliability", read_only=True)
    reporting_outlet = NamedSerializer(read_only=True, allow_null=True)
    file = StoredFileSerializer(read_only=True, allow_null=True)
    download = serializers.SerializerMethodField()
    added_by = serializers.CharField(
        source="added_by.get_username",
        read_only=True,
        allow_null=True,
        help_text="Who added it; null for a stakeholder.",
    )

    class Meta:
        model = EvidenceItem
        fields = [
            "id",
            "title",
            "source",
            "source_reliability",
            "reporting_outlet",
            "kind",
            "stance",
            "credibility",
            "excerpt",
            "url",
            "published_on",
            "obtained_on",
            "file",
            "original_filename",
            "download",
            "added_by",
            "added_at",
        ]

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download(self, item):
        if not item.file_id:
            return None
        return reverse("api:evidence_file", args=[item.pk], request=self.context.get("request"))


class EvidenceCreateSerializer(RefusesUnknownFields, serializers.ModelSerializer):
    """An evidence item as the monitors' evidence form takes it, with an optional file
    (multipart/form-data) and, instead of ``source``, a source proposed with it
    (``new_source_name`` and ``new_source_kind``, optionally country and notes)."""

    source = KeyField(queryset=Source.objects.all(), required=False, allow_null=True)
    upload = serializers.FileField(
        required=False, help_text="The evidence file; send the request as multipart/form-data."
    )
    credibility = credibility_field(required=False)

    class Meta:
        model = EvidenceItem
        fields = [*MonitorEvidenceItemForm.Meta.fields, "upload"]

    def get_fields(self):
        fields = super().get_fields()
        for name, label in MonitorEvidenceItemForm.PROPOSAL.items():
            model_field = Source._meta.get_field(name)
            options = {"required": False, "help_text": label}
            if model_field.choices:
                choices = [("", "(none)"), *model_field.choices]
                fields[f"new_source_{name}"] = serializers.ChoiceField(choices=choices, **options)
            else:
                fields[f"new_source_{name}"] = serializers.CharField(
                    allow_blank=True, max_length=model_field.max_length, **options
                )
        return fields

    def validate(self, attrs):
        upload = attrs.pop("upload", None)
        data = model_to_dict(EvidenceItem(), fields=MonitorEvidenceItemForm.Meta.fields)
        data.update(attrs)
        self.form = MonitorEvidenceItemForm(
            form_data(data),
            {"upload": upload} if upload is not None else {},
            user=self.context["request"].user,
        )
        if not self.form.is_valid():
            raise serializers.ValidationError(form_errors(self.form))
        return attrs


class ActionSerializer(RefusesUnknownFields, serializers.Serializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Recorded with the step: the reason, which rejecting, requesting changes "
        "and reopening need.",
    )
    justification = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Approving below the corroboration minimum needs it; recorded with the decision.",
    )
    of = serializers.CharField(
        required=False,
        help_text="mark_duplicate only: the reference of the case this one repeats.",
    )

    def validate(self, attrs):
        """``of`` becomes ``duplicate_of``, a case the user may see."""
        action, user = self.context["action"], self.context["request"].user
        reference = attrs.pop("of", "").strip()
        if action != workflow.MARK_DUPLICATE.name:
            if reference:
                raise serializers.ValidationError({"of": ["Only mark_duplicate takes a case."]})
            return attrs
        if not reference:
            raise serializers.ValidationError(
                {"of": ["Say which case this one is a duplicate of (its reference)."]}
            )
        original = Case.objects.visible_to(user).filter(reference__iexact=reference).first()
        if original is None:
            raise serializers.ValidationError(
                {"of": [f"There is no case {reference} that you can see."]}
            )
        return {**attrs, "duplicate_of": original}


class ImportUploadSerializer(serializers.Serializer):
    """A file of cases to import; checked (a dry run) first, imported only when the
    preview is confirmed."""

    file = serializers.FileField(
        help_text="A CSV (UTF-8), XLSX or JSON Lines file, one case a row (a line)."
    )
    create_missing = serializers.BooleanField(
        default=False,
        help_text="Create the weapon systems and sanctions provisions the file names that "
        "do not exist yet, instead of refusing those rows.",
    )


class ImportRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRow
        fields = ["number", "action", "reference", "messages"]
        # Written by the import, never by a client; read-only, the schema's integers
        # are the same on every database.
        read_only_fields = fields


class ImportJobSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    rows_listed = serializers.SerializerMethodField(
        help_text="Each row that is not unchanged (at most 1,000; the import's page lists "
        "every row): its number in the file, what it does, its case, and messages naming "
        "a column."
    )
    may_confirm = serializers.BooleanField(read_only=True)
    imported_before = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The id of your newest earlier import of the very same file (the same "
        "bytes), confirmed before this one was (or before now), or null. Its rows without "
        "a reference or an external id would be created again.",
    )

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "url",
            "original_filename",
            "size",
            "sha256",
            "create_missing",
            "status",
            "message",
            "rows",
            "created",
            "updated",
            "unchanged",
            "errors",
            "new_reference_values",
            "may_confirm",
            "imported_before",
            "created_at",
            "confirmed_at",
            "finished_at",
            "rows_listed",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, job):
        return reverse("api:import", args=[job.pk], request=self.context.get("request"))

    @extend_schema_field(ImportRowSerializer(many=True))
    def get_rows_listed(self, job):
        rows = job.results.exclude(action=Action.UNCHANGED)[:1000]
        return ImportRowSerializer(rows, many=True).data
