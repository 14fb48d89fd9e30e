import calendar
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, connections, models, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import GreaterThanOrEqual
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import dateformat, timezone
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from common import paging, versioned_cache
from mailer.models import EmailDelivery

from . import search, sqlite_index


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# The configuration the triggers of migration 0010 build the search vector with.
SEARCH_CONFIG = "english"

# Someone other than the creator has to act on a case in one of these states.
WAITING_STATES = (State.SUBMITTED, State.IN_REVIEW, State.CHANGES_REQUESTED)
OPEN_STATES = (State.DRAFT, *WAITING_STATES)
# The creator may edit a case's content only while it is in their hands.
EDITABLE_STATES = (State.DRAFT, State.CHANGES_REQUESTED)


class IncidentType(models.TextChoices):
    ARMS_TRANSFER = "arms_transfer", "Arms transfer"
    MUNITIONS_SHIPMENT = "munitions_shipment", "Shipment of munitions"
    BATTLEFIELD_USE = "battlefield_use", "Battlefield use of transferred weapons"
    DEPOT_STRIKE = "depot_strike", "Strike on a depot of transferred materiel"
    PERSONNEL_DEPLOYMENT = "personnel_deployment", "Deployment of personnel"
    TECHNOLOGY_TRANSFER = "technology_transfer", "Technology transfer"
    OTHER = "other", "Other"


class DatePrecision(models.TextChoices):
    DAY = "day", "Exact day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"
    APPROXIMATE = "approximate", "Approximate"


# How a date known to each precision reads (Django's date format characters).
PERIOD_FORMATS = {
    DatePrecision.DAY: "j F Y",
    DatePrecision.MONTH: "F Y",
    DatePrecision.YEAR: "Y",
    DatePrecision.APPROXIMATE: "j F Y",
}


# The last day a case's incident covers (a single day's end is its start), as one
# expression, so that one index (case_span_idx) serves "which incidents overlap these days".
INCIDENT_LAST_DAY = Coalesce("incident_end", "incident_start")


def covered_days(start, end, precision):
    """The first and last day an incident known to ``precision`` covers: a month-precision
    incident covers its whole months (1 September 2023 – 29 February 2024), a
    year-precision one its whole years; other precisions cover the days given (``end``
    stays None for a single day)."""
    if precision == DatePrecision.MONTH:
        last = end or start
        return (
            start.replace(day=1),
            last.replace(day=calendar.monthrange(last.year, last.month)[1]),
        )
    if precision == DatePrecision.YEAR:
        return date(start.year, 1, 1), date((end or start).year, 12, 31)
    return start, end


def has_happened(day):
    """A case records what has happened, and evidence what was published or obtained: a
    date after tomorrow (today somewhere on Earth) is a slip, 2205 typed for 2025."""
    if day > timezone.localdate() + timedelta(days=1):
        raise ValidationError(
            "It cannot be in the future: give the date it happened.", code="future_date"
        )


def holds_no_list_separator(value):
    # Imports and exports write a case's weapon systems and provisions in one cell,
    # separated by ";": a name holding one would be read back as two.
    if ";" in value:
        raise ValidationError(
            "It cannot hold “;”: imports and exports separate names with it.",
            code="list_separator",
        )


class WeaponSystem(models.Model):
    name = models.CharField(max_length=200, unique=True, validators=[holds_no_list_separator])
    category = models.CharField(
        max_length=100, blank=True, help_text="e.g. ballistic missile, artillery ammunition"
    )
    aliases = models.TextField(
        blank=True,
        help_text="Other names and designations it is reported under, e.g. KN-23, KN-24; "
        "searching the cases finds them.",
    )
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SanctionsProvision(models.Model):
    resolution = models.CharField(
        max_length=50,
        validators=[holds_no_list_separator],
        help_text='UN Security Council resolution, e.g. "1718 (2006)"',
    )
    paragraph = models.CharField(
        max_length=50, blank=True, validators=[holds_no_list_separator], help_text='e.g. "8 (a)"'
    )
    summary = models.TextField(help_text="What the provision prohibits.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["resolution", "paragraph"]
        constraints = [
            models.UniqueConstraint(
                fields=["resolution", "paragraph"], name="unique_sanctions_provision"
            )
        ]

    def __str__(self):
        label = f"UNSCR {self.resolution}"
        return f"{label}, para. {self.paragraph}" if self.paragraph else label


def review_sla():
    """How long a case may wait for its next step (``REVIEW_SLA_DAYS``)."""
    return timedelta(days=settings.REVIEW_SLA_DAYS)


def overdue(now):
    """The one rule for "overdue", as a filter: waiting the review SLA or longer.

    ``Case.is_overdue`` says the same of one case; a test holds the two together.
    """
    return Q(state__in=WAITING_STATES, state_changed_at__lte=now - review_sla())


def works_on_cases(user):
    """Whether the user logs or checks cases (monitors, reviewers, administrators) and
    so sees the review at work: every case past its draft, who acted and what they
    wrote. Everyone else who may view cases is a stakeholder, a reader of findings."""
    return (
        user.is_superuser
        or user.has_perm("tracker.review_case")
        or user.has_perm("tracker.add_case")
    )


class Visibility(models.TextChoices):
    """Which cases a user sees, named so that what is worked out for one user (the
    dashboard's counts) can be kept for everyone who sees the same."""

    EVERYTHING = "everything", "every case, drafts included (administrators)"
    TEAM = "team", "every case past its draft, and one's own drafts (monitors, reviewers)"
    APPROVED = "approved", "approved cases (stakeholders)"
    NOTHING = "nothing", "no case (no role, signed out or deactivated)"


def case_visibility(user):
    """The one rule of who sees which cases (``Case.objects.visible_to`` applies it).

    Drafts are their author's work in progress: nobody else sees them until they are
    submitted (administrators excepted). Stakeholders see approved cases only. Two
    users of one visibility see the same cases, but for TEAM each member's own drafts.
    """
    if not user.is_authenticated or not user.is_active:
        return Visibility.NOTHING
    if user.is_superuser:
        return Visibility.EVERYTHING
    if works_on_cases(user):
        return Visibility.TEAM
    if user.has_perm("tracker.view_case"):
        return Visibility.APPROVED
    return Visibility.NOTHING


# A search's order: the best matches first (``CaseQuerySet.search``).
BY_RELEVANCE = "-search_rank"


class CaseQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The cases this user may see at all (``case_visibility``)."""
        visibility = case_visibility(user)
        if visibility == Visibility.TEAM:
            return self.filter(~Q(state=State.DRAFT) | Q(created_by=user))
        return self.shared_with(visibility)

    def shared_with(self, visibility):
        """The cases every user of ``visibility`` sees: for TEAM those past their draft,
        to which ``visible_to`` adds the user's own drafts (``own_drafts``)."""
        if visibility == Visibility.EVERYTHING:
            return self.all()
        if visibility == Visibility.TEAM:
            return self.exclude(state=State.DRAFT)
        if visibility == Visibility.APPROVED:
            return self.filter(state=State.APPROVED)
        return self.none()

    def own_drafts(self, user):
        """The drafts ``user`` sees that others of their visibility do not."""
        if case_visibility(user) != Visibility.TEAM:
            return self.none()
        return self.filter(state=State.DRAFT, created_by=user)

    def search(self, text):
        """The cases matching ``text``, in web-search syntax (see ``tracker.search``),
        best matches first, then in the order they had. A case is found by its reference
        (or its number), title, summary, place, quantity, countries (by name or alias,
        "DPRK"), weapon systems (by name or alias, "KN-23"), sanctions provisions and
        evidence (titles, excerpts, sources); words match their inflections.

        PostgreSQL reads ``search_vector``, SQLite its FTS5 index
        (``tracker.sqlite_index``); the databases' triggers keep both current."""
        query = search.parse(text)
        if not query:
            return self.none()
        order = self.query.order_by or self.model._meta.ordering
        if connections[self.db].vendor == "postgresql":
            words = SearchQuery(query.as_websearch(), search_type="websearch", config=SEARCH_CONFIG)
            # As double precision: ts_rank's real comes back as its shortest decimal,
            # which is not the real itself, so a cursor holding it would not find the
            # row's rank equal to itself and pages would repeat the cases tied on it.
            found = self.filter(search_vector=words).annotate(
                search_rank=Cast(SearchRank(F("search_vector"), words), models.FloatField())
            )
        else:
            columns = "{" + " ".join(sqlite_index.COLUMNS) + "}"
            everything = f'{sqlite_index.EVERYTHING_COLUMN} : "{sqlite_index.EVERYTHING}"'
            found = self.filter(
                search_entry__document__match=query.as_fts5(columns, everything)
            ).annotate(search_rank=-F("search_entry__rank"))  # bm25: lower is better
        return found.order_by(BY_RELEVANCE, *order)

    def too_many_to_rank(self):
        """Whether these are a search's matches in order of relevance (``search``), more
        than ``SEARCH_RANK_LIMIT`` of them: ranking reads and ranks every match, and a
        search for words most cases hold (some 80,000 of 100,000) took 135 ms of
        PostgreSQL, growing with the archive. Counting up to the limit does not."""
        if self.query.order_by[:1] != (BY_RELEVANCE,):
            return False
        _, exact = paging.capped_count(self, settings.SEARCH_RANK_LIMIT, kept_in=CASE_LISTS)
        return not exact

    def unranked(self):
        """These matches in the order they had before the search: newest first, unless
        the list was sorted otherwise."""
        return self.order_by(*(key for key in self.query.order_by if key != BY_RELEVANCE))

    def with_changes_reason(self):
        """Each case with ``changes_reason``: why a reviewer last sent it back, which its
        monitor must read before anything else."""
        reasons = Transition.objects.filter(
            case=OuterRef("pk"), to_state=State.CHANGES_REQUESTED
        ).order_by("-at", "-pk")
        return self.annotate(changes_reason=Subquery(reasons.values("comment")[:1]))

    def waiting(self):
        return self.filter(state__in=WAITING_STATES)

    def waiting_for(self, user):
        """The cases whose next step is this user's: their own drafts and cases sent
        back to them, and for reviewers the submitted cases of others and the reviews
        assigned to them."""
        next_step_is_mine = Q(created_by=user, state__in=EDITABLE_STATES)
        if user.has_perm("tracker.review_case"):
            next_step_is_mine |= (
                Q(state=State.SUBMITTED) | Q(state=State.IN_REVIEW, assigned_reviewer=user)
            ) & ~Q(created_by=user)
        # Implied by the above; said outright so PostgreSQL reads the open cases'
        # index in waiting order instead of every case ever moved.
        return self.filter(next_step_is_mine, state__in=OPEN_STATES)

    def overdue(self, now=None):
        """Waiting cases nobody has moved for the review SLA or longer."""
        return self.filter(overdue(now or timezone.now()))

    def during(self, first=None, last=None):
        """The cases whose incident falls, wholly or in part, between the days ``first``
        and ``last`` (either may be None: no bound on that side). A case over September
        2023 – February 2024 is one of January 2024's. A case known to the month or the
        year is stored as covering all of it (``Case.save``), so it counts for any day
        of it."""
        cases = self
        if first is not None:
            cases = cases.filter(GreaterThanOrEqual(INCIDENT_LAST_DAY, first))
        if last is not None:
            cases = cases.filter(incident_start__lte=last)
        return cases


# What the dashboards count cases by: a save that writes another of these makes the
# counts kept in the cache (versioned per visibility, ``cases_cache``) out of date.
COUNTED_FIELDS = ("state", "incident_start", "incident_end")


def cases_cache(visibility):
    """The versioned cache (``common.versioned_cache``) of what is worked out from the
    cases every user of ``visibility`` sees (``CaseQuerySet.shared_with``)."""
    return f"cases:{visibility}"


def seen_by(states):
    """The visibilities that share a case in any of ``states`` (None: a state not
    known, any). A draft is the team's only once submitted, so logging one changes
    what the administrators see, not what the team or the stakeholders count."""
    if None in states:
        return list(Visibility)
    seen = [Visibility.EVERYTHING]
    if states - {State.DRAFT}:
        seen.append(Visibility.TEAM)
    if State.APPROVED in states:
        seen.append(Visibility.APPROVED)
    return seen


def counts_changed(states, using):
    for visibility in seen_by(set(states)):
        versioned_cache.bump_on_commit(cases_cache(visibility), using=using)


# The counts of the case lists (the list, its search, the admin's changelist, whether a
# search has too many matches to rank), kept in the cache under each list's own SQL
# (common.paging.capped_count) until anything a list filters or searches by changes:
# a case, its weapon systems or provisions, their names, and (evidence.models) an
# evidence item or a source, whose text the search reads.
CASE_LISTS = "case-lists"


def lists_changed(using):
    versioned_cache.bump_on_commit(CASE_LISTS, using=using)


# Stored on the case and kept by evidence.corroboration, never by a save of the case.
CORROBORATION_FIELDS = ("supporting_sources", "refuting_sources", "suggested_credibility")


class Case(models.Model):
    reference = models.CharField(max_length=20, unique=True, editable=False)
    # A team's own identifier for the incident (from their spreadsheet or database), so
    # an imported row can be recognised again; unique among cases that have one.
    external_id = models.CharField(
        "external id",
        max_length=100,
        blank=True,
        help_text="The team's own identifier for this incident, if it has one.",
    )
    title = models.CharField(max_length=300)
    summary = models.TextField(help_text="What happened, as reported.")
    incident_type = models.CharField(max_length=30, choices=IncidentType.choices)

    incident_start = models.DateField(
        "incident date",
        validators=[has_happened],
        help_text="The day, or the first day of a date range (with month or year precision, "
        "any day of that month or year).",
    )
    incident_end = models.DateField(
        "incident end date",
        null=True,
        blank=True,
        help_text="Only for a date range (with month or year precision, any day of its last "
        "month or year).",
    )
    date_precision = models.CharField(
        max_length=15,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        help_text="How precisely the date is known. A case known to the month or the year "
        "covers whole months or years: give any day of the first (and, for a range, the "
        "last) of them, and the case is saved as covering all of it.",
    )

    place_name = models.CharField(max_length=200, help_text="e.g. Kharkiv, Bryansk region")
    country = CountryField(help_text="Where it happened.")
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )

    supplier_country = CountryField(blank=True, help_text="Who supplied (e.g. North Korea).")
    recipient_country = CountryField(blank=True, help_text="Who received (e.g. Russia).")
    weapon_systems = models.ManyToManyField(WeaponSystem, blank=True, related_name="cases")
    sanctions_provisions = models.ManyToManyField(
        SanctionsProvision,
        blank=True,
        related_name="cases",
        help_text="Provisions the incident may breach.",
    )
    reported_quantity = models.CharField(
        max_length=200, blank=True, help_text='As reported, e.g. "about 6,700 containers"'
    )

    # Written only by tracker.workflow; see Case.save().
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.DRAFT, editable=False
    )
    state_changed_at = models.DateTimeField(default=timezone.now, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="cases_created",
        editable=False,
    )
    assigned_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="cases_assigned",
        null=True,
        blank=True,
    )
    # The case this one reports again, set by a reviewer through the workflow
    # (``workflow.mark_duplicate``, which withdraws it) and cleared by reopening it.
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What PostgreSQL's full-text search reads: the case's text and that of its
    # countries, weapon systems, provisions and evidence, kept by triggers (migration
    # 0010) so a search does not work it out for every case. Empty on SQLite, whose
    # index is CaseSearchEntry.
    search_vector = SearchVectorField(null=True, editable=False)
    # How well the case is sourced (evidence/corroboration.py says how each is counted),
    # stored so that the lists filter and sort by it from an index instead of counting
    # every case's evidence. Written only by evidence.corroboration.refresh_corroboration,
    # in the transaction of each change to the case's evidence or the sources it cites;
    # `manage.py check_corroboration` recounts and compares.
    supporting_sources = models.PositiveIntegerField(
        "independent supporting sources",
        default=0,
        editable=False,
        help_text="Independent supporting sources that count towards the minimum.",
    )
    refuting_sources = models.PositiveIntegerField(
        "independent refuting sources", default=0, editable=False
    )
    # The Credibility scale's 6, "cannot be judged", for a case without evidence.
    suggested_credibility = models.PositiveSmallIntegerField(default=6, editable=False)

    history = HistoricalRecords(excluded_fields=["search_vector", *CORROBORATION_FIELDS])
    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("review_case", "Can review cases: start review, approve, reject, request changes"),
            ("reopen_case", "Can reopen rejected, withdrawn or approved cases"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(incident_end__isnull=True)
                | Q(incident_end__gte=models.F("incident_start")),
                name="incident_end_after_start",
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="unique_external_id",
                violation_error_message="Another case already has this external id: each "
                "case's external id is its own.",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="coordinates_both_or_neither",
            ),
        ]
        indexes = [
            # The case list's default order, newest first; the admin's, most recently
            # moved first; both lists, the dashboard's chart and the admin's dates by
            # incident date.
            models.Index(fields=["created_at", "id"], name="case_newest_idx"),
            models.Index(fields=["state_changed_at"], name="case_changed_idx"),
            # Open cases, longest waiting first: the dashboard, reminders, the SLA. The
            # included columns answer the reminders scan and the dashboard's "waiting
            # for me" count from the index alone: the open cases are the same few
            # thousand however many decided ones the archive holds, but they lie
            # scattered across its table, so reading their rows costs more as it grows.
            models.Index(
                fields=["state_changed_at"],
                include=["state", "id", "created_by", "assigned_reviewer"],
                condition=Q(state__in=OPEN_STATES),
                name="case_open_idx",
            ),
            models.Index(
                fields=["incident_start"], include=["state", "created_by"], name="case_incident_idx"
            ),
            models.Index(fields=["state", "state_changed_at"]),
            # Incidents overlapping a period (``during``): the case list's incident dates,
            # the admin's incident year, possible duplicates. The included columns (the
            # list's common filters) let such a list be counted from the index alone:
            # a larger archive is more years, so "since 2023" is as many index entries
            # at a million cases as at 100,000, where reading their rows was not.
            models.Index(
                INCIDENT_LAST_DAY,
                F("incident_start"),
                include=[
                    "incident_end",
                    "state",
                    "supplier_country",
                    "recipient_country",
                    "incident_type",
                    "created_by",
                ],
                name="case_span_idx",
            ),
            # The case list: filtered by state, sorted by incident date, counted without
            # reading the table (the included columns are the common filters).
            models.Index(
                fields=["state", "incident_start"],
                include=["supplier_country", "recipient_country", "incident_type", "created_by"],
                name="case_list_idx",
            ),
            # The weekly digest's counts of approved cases within a subscriber's
            # filters (incident country and type), and of those approved in the week
            # (by primary key), from the index alone: they count every approved case.
            models.Index(
                fields=["country", "incident_type"],
                include=["id"],
                condition=Q(state=State.APPROVED),
                name="case_approved_idx",
            ),
            # The case list of one state sorted by title (a stakeholder's approved
            # cases, say), a page at a time: without it every case of the state was
            # read and sorted for each page (60–110 ms at 100,000 cases).
            models.Index(fields=["state", "title", "id"], name="case_state_title_idx"),
            # The lists' "at least N sources" filter and their sort by sources (with the
            # primary key, the keyset pagination's tie-breaker), from the index.
            models.Index(fields=["supporting_sources", "id"], name="case_sources_idx"),
            # The admin's supplier → recipient filter lists the pairs a user may see.
            models.Index(
                fields=["supplier_country", "recipient_country"],
                include=["state", "created_by"],
                name="case_transfer_idx",
            ),
        ]

    # A save never writes these: the review state (and the duplicate link that
    # comes with a withdrawal) is tracker.workflow's to change, the
    # search vector the database's, the corroboration evidence.corroboration's (a form
    # loaded before an item was added would otherwise write the old counts back). The
    # creator is set when the case is made and never changes: the corroboration counts
    # on it (a source its creator graded does not count).
    UNSAVED_FIELDS = (
        "state",
        "state_changed_at",
        "duplicate_of",
        "search_vector",
        "created_by",
        *CORROBORATION_FIELDS,
    )

    def __str__(self):
        return f"{self.reference}: {self.title}"

    def save(self, *args, **kwargs):
        # Every way a case is saved (the forms, the admin, the demo) stores the days its
        # precision covers, so that "cases during January 2024" finds a case known only
        # to be in January 2024 however its days were typed.
        if self.incident_start:
            self.incident_start, self.incident_end = covered_days(
                self.incident_start, self.incident_end, self.date_precision
            )
        adding = self._state.adding
        if adding:
            self._save_with_new_reference(*args, **kwargs)
            written = COUNTED_FIELDS
        else:
            if kwargs.get("update_fields") is None:
                # An edit form loaded before a concurrent transition would otherwise write
                # the old state back; only the workflow module names these fields.
                kwargs["update_fields"] = [
                    f.name
                    for f in self._meta.concrete_fields
                    if not f.primary_key and f.name not in self.UNSAVED_FIELDS
                ]
            written = [name for name in COUNTED_FIELDS if name in kwargs["update_fields"]]
            super().save(*args, **kwargs)
        now = {name: getattr(self, name) for name in written}
        loaded = getattr(self, "_counted_as_loaded", {})
        if any(name not in loaded or loaded[name] != value for name, value in now.items()):
            # A case created, moved to another state or given other dates: what the
            # dashboards of those who see it counted is out of date once this commits.
            # Before, it was in the state it was loaded in (None if that was not read:
            # anyone's counts may have changed).
            states = {self.state} if adding else {self.state, loaded.get("state")}
            counts_changed(states, using=self._state.db)
        self._counted_as_loaded = {**loaded, **now}

    def get_absolute_url(self):
        return reverse("tracker:case", args=[self.pk])

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        case = super().from_db(db, field_names, values, **kwargs)
        # Django's way to see what a save changes ("Customizing model loading").
        case._counted_as_loaded = {
            name: value
            for name, value in zip(field_names, values, strict=True)
            if name in COUNTED_FIELDS
        }
        return case

    def _save_with_new_reference(self, *args, **kwargs):
        # Two monitors creating cases at once may compute the same next number;
        # the unique constraint decides and the loser takes the following one.
        for _ in range(10):
            if not self.reference:
                self.reference = self.next_reference()
            try:
                with transaction.atomic():
                    super().save(*args, **kwargs)
                return
            except IntegrityError:
                if Case.objects.filter(reference=self.reference).exists():
                    self.reference = ""
                    continue
                raise
        raise IntegrityError("Could not allocate a unique case reference.")

    def clean(self):
        errors = {}
        if self.incident_end and self.incident_start and self.incident_end < self.incident_start:
            errors["incident_end"] = "The end of the date range cannot be before its start."
        if (self.latitude is None) != (self.longitude is None):
            errors["longitude" if self.longitude is None else "latitude"] = (
                "Give both latitude and longitude, or neither."
            )
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def next_reference(year=None):
        year = year or timezone.now().year
        prefix = f"CASE-{year}-"
        last = (
            Case.objects.filter(reference__startswith=prefix)
            .order_by("-reference")
            .values_list("reference", flat=True)
            .first()
        )
        number = int(last.removeprefix(prefix)) + 1 if last else 1
        return f"{prefix}{number:04d}"

    @property
    def is_editable(self):
        return self.state in EDITABLE_STATES

    def can_edit(self, user):
        if user.is_superuser:
            return True
        return (
            user.pk == self.created_by_id
            and self.is_editable
            and user.has_perm("tracker.change_case")
        )

    def check_may_edit(self, user):
        """Refuse (PermissionDenied, saying why) unless ``user`` may change the case now:
        the pages, the admin and the API ask the same question."""
        if not self.can_edit(user):
            raise PermissionDenied(
                f"Only the monitor who created {self.reference} can change it, and only while "
                "it is a draft or sent back for changes."
            )

    def lock_for_edit(self, user):
        """Lock the case's row, as the workflow does for a transition, and refuse
        (PermissionDenied, saying why) unless ``user`` may change the case as it is now.
        Called in the transaction that saves an edit (the pages, the admin, the API, an
        import): an edit checked on a copy read a moment before a submission would
        otherwise wait for it and then land on the submitted case."""
        Case.objects.select_for_update().get(pk=self.pk).check_may_edit(user)

    def who_must_act(self, state=None):
        """The users whose move it is while the case waits in ``state`` (by default the
        state it is in now), as a list."""
        state = state or self.state
        if state == State.SUBMITTED:
            return list(reviewers().exclude(pk=self.created_by_id))
        if state == State.IN_REVIEW:
            return [self.assigned_reviewer] if self.assigned_reviewer else []
        if state == State.CHANGES_REQUESTED:
            return [self.created_by]
        return []

    def is_overdue(self, now):
        """Whether the case has waited the review SLA or longer; see ``overdue``."""
        return self.state in WAITING_STATES and now - self.state_changed_at >= review_sla()

    @property
    def incident_period(self):
        """The incident date as precisely as it is known, never more: "3 October 2024",
        "January 2024", "September 2023 – February 2024", "2023 – 2024", "about 3 October
        2024". Every page, email, export and the admin show this."""
        if self.incident_start is None:
            return ""
        fmt = PERIOD_FORMATS.get(self.date_precision, PERIOD_FORMATS[DatePrecision.DAY])
        text = dateformat.format(self.incident_start, fmt)
        if self.incident_end:
            end = dateformat.format(self.incident_end, fmt)
            if end != text:
                text = f"{text} – {end}"
        if self.date_precision == DatePrecision.APPROXIMATE:
            text = f"about {text}"
        return text


class FullTextTable(models.TextField):
    """FTS5's hidden column named after its table: a MATCH on it searches every column."""


@FullTextTable.register_lookup
class Match(models.Lookup):
    lookup_name = "match"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} MATCH {rhs}", [*lhs_params, *rhs_params]


class CaseSearchEntry(models.Model):
    """A case's row in SQLite's full-text index, the FTS5 table that
    ``tracker.sqlite_index`` makes and its triggers keep (not a table Django manages).
    Only for searching (``Case.objects.search``); PostgreSQL has no such table."""

    case = models.OneToOneField(
        Case,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_column="rowid",
        related_name="search_entry",
    )
    document = FullTextTable(db_column=sqlite_index.TABLE)
    # bm25 with the index's column weights; lower is better.
    rank = models.FloatField()

    class Meta:
        managed = False
        db_table = sqlite_index.TABLE

    def __str__(self):
        return f"Search entry of case {self.case_id}"


class Transition(models.Model):
    """One change of a case's review state: who, when, from, to and why.

    Rows are only ever added, by tracker.workflow; they are the review record.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="transitions")
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=20, choices=State.choices)
    to_state = models.CharField(max_length=20, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transitions"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    comment = models.TextField(blank=True)
    justification = models.TextField(
        blank=True, help_text="Why the case was approved below the corroboration minimum."
    )

    class Meta:
        ordering = ["at", "pk"]
        # The digest finds the week's approvals by state reached and time.
        indexes = [models.Index(fields=["to_state", "at"])]

    def __str__(self):
        return f"{self.case.reference}: {self.from_state} → {self.to_state} by {self.actor}"


def reviewers():
    """Active users who may review cases (administrators are escalated to, not asked)."""
    return get_user_model().objects.with_perm(
        "tracker.review_case",
        is_active=True,
        include_superusers=False,
        backend="tracker.auth.RoleBackend",
    )


class ReminderKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    ESCALATION = "escalation", "Escalation to administrators"


class Reminder(EmailDelivery):
    """A reminder about a case that waits too long; at most one per case and day."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reminders")
    date = models.DateField()
    kind = models.CharField(max_length=10, choices=ReminderKind.choices)
    # When the daily run found the case overdue: the moment the reminder speaks of,
    # also when the sweep sends it later. Empty on reminders made before it was kept.
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "case"]
        constraints = [
            models.UniqueConstraint(fields=["case", "date"], name="one_reminder_per_case_and_day")
        ]

    delivery_task = "tracker.tasks.send_reminder"

    def __str__(self):
        return f"{self.get_kind_display()} about {self.case.reference} on {self.date}"

    def delivery_task_args(self):
        return [self.case_id, (self.due_at or self.created_at).isoformat()]


class Notification(EmailDelivery):
    """The email telling one person of one transition."""

    transition = models.ForeignKey(
        Transition, on_delete=models.CASCADE, related_name="notifications"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    address = models.EmailField(help_text="Where it went: the recipient's address then.")

    delivery_task = "tracker.tasks.notify_transition"

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["transition", "recipient"], name="one_notification_per_transition_and_user"
            )
        ]

    def __str__(self):
        return f"Notification of {self.transition} to {self.address}"

    def delivery_task_args(self):
        return [self.transition_id]


# What the new case form and the case list's filters offer to choose from (their markup
# is kept in the cache, templates/tracker/case_form.html and case_list.html) changes
# when a weapon system or provision is added, renamed or deleted.
CHOICES_CACHE = "weapon-systems-and-provisions"


@receiver(post_save, sender=WeaponSystem)
@receiver(post_delete, sender=WeaponSystem)
@receiver(post_save, sender=SanctionsProvision)
@receiver(post_delete, sender=SanctionsProvision)
def choices_changed(sender, using, **kwargs):
    versioned_cache.bump_on_commit(CHOICES_CACHE, using=using)
    # The search reads their names too.
    lists_changed(using)


@receiver(post_delete, sender=Case)
def case_deleted(sender, instance, using, **kwargs):
    counts_changed({instance.state}, using=using)
    lists_changed(using)


@receiver(post_save, sender=Case)
def case_lists_changed(sender, using, **kwargs):
    lists_changed(using)


@receiver(m2m_changed, sender=Case.weapon_systems.through)
@receiver(m2m_changed, sender=Case.sanctions_provisions.through)
def case_links_changed(sender, action, using, **kwargs):
    # Sent before and after each change of the links: once is enough.
    if action.startswith("post_"):
        lists_changed(using)
