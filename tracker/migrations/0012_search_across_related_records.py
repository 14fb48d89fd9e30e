import importlib

import django.db.models.deletion
from django.db import migrations, models
from django.utils import translation

import tracker.models

# The search finds a case by what is linked to it as well: its countries by name and
# alias ("North Korea", "DPRK"), its weapon systems by name and alias ("KN-23"), its
# sanctions provisions, its evidence (titles, excerpts, sources and outlets) and its
# reference. On PostgreSQL, Case.search_vector holds all of it, weighted A (reference,
# title), B (summary, place, quantity, countries, weapon systems), C (provisions) and
# D (evidence) for ranking; triggers on each table it is read from rewrite it in the
# statement that changed the text. SQLite's index is tracker.sqlite_index, made after
# migrating (Django's table rebuilds on SQLite drop triggers).

# Countries are stored as ISO codes: the names a search should know them by, in a
# table both databases' triggers read. The names are django-countries' (English,
# official and former); the aliases are what reports say that those names do not.
ALIASES = {
    "BY": ["Belarusian"],
    "CN": ["PRC", "People's Republic of China", "Chinese"],
    "GB": ["UK", "Britain", "Great Britain", "British"],
    "IR": ["Iranian"],
    "KP": ["DPRK", "Democratic People's Republic of Korea", "North Korean"],
    "KR": ["ROK", "Republic of Korea", "South Korean"],
    "RU": ["Russian"],
    "SY": ["Syrian"],
    "UA": ["Ukrainian"],
    "US": ["USA", "United States", "American"],
}

CREATE_COUNTRY_NAMES = """
CREATE TABLE tracker_country_search_name (
    code varchar(2) NOT NULL PRIMARY KEY,
    names text NOT NULL
)
"""

# Punctuation becomes a space before PostgreSQL's parser reads the text, as FTS5's
# tokenizer splits on it: the parser alone reads "CASE-2024-0003" as "case", "-2024",
# "-0003" and "KN-23/KN-24" as "kn", "-23", "/kn-24", which "0003" and "KN-24" miss.
DOCUMENT = """
CREATE FUNCTION tracker_case_search_document(c tracker_case) RETURNS tsvector
LANGUAGE sql STABLE AS $$
SELECT
    setweight(to_tsvector('english', regexp_replace(
        concat_ws(' ', c.reference, c.title), '[[:punct:]]+', ' ', 'g')), 'A')
    || setweight(to_tsvector('english', regexp_replace(concat_ws(' ',
        c.summary, c.place_name, c.reported_quantity,
        (SELECT string_agg(n.names, ' ') FROM tracker_country_search_name n
          WHERE n.code IN (c.country, c.supplier_country, c.recipient_country)),
        (SELECT string_agg(concat_ws(' ', w.name, w.aliases, w.category), ' ')
           FROM tracker_case_weapon_systems cw
           JOIN tracker_weaponsystem w ON w.id = cw.weaponsystem_id
          WHERE cw.case_id = c.id)
    ), '[[:punct:]]+', ' ', 'g')), 'B')
    || setweight(to_tsvector('english', regexp_replace(concat_ws(' ',
        (SELECT string_agg(concat_ws(' ', 'UNSCR', p.resolution, p.paragraph), ' ')
           FROM tracker_case_sanctions_provisions cp
           JOIN tracker_sanctionsprovision p ON p.id = cp.sanctionsprovision_id
          WHERE cp.case_id = c.id)
    ), '[[:punct:]]+', ' ', 'g')), 'C')
    || setweight(to_tsvector('english', regexp_replace(concat_ws(' ',
        (SELECT string_agg(concat_ws(' ', e.title, e.excerpt, s.name, o.name), ' ')
           FROM evidence_evidenceitem e
           JOIN evidence_source s ON s.id = e.source_id
           LEFT JOIN evidence_source o ON o.id = e.reporting_outlet_id
          WHERE e.case_id = c.id)
    ), '[[:punct:]]+', ' ', 'g')), 'D')
$$;
"""

REFRESH = "UPDATE tracker_case c SET search_vector = tracker_case_search_document(c) WHERE c.id IN"

TRIGGERS = f"""
{DOCUMENT}

-- The case's own text. Not on a review step, which writes only the state.
CREATE OR REPLACE FUNCTION tracker_case_search_vector() RETURNS trigger AS $$
BEGIN
    NEW.search_vector := tracker_case_search_document(NEW);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER tracker_case_search_vector ON tracker_case;
CREATE TRIGGER tracker_case_search_vector
    BEFORE INSERT OR UPDATE OF reference, title, summary, place_name, reported_quantity,
        country, supplier_country, recipient_country ON tracker_case
    FOR EACH ROW EXECUTE FUNCTION tracker_case_search_vector();

-- Rows that name their case (links to weapon systems and provisions, evidence): once
-- per statement, so a bulk insert rewrites each of its cases once.
CREATE FUNCTION tracker_case_search_linked() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {REFRESH} (SELECT case_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        {REFRESH} (SELECT case_id FROM old_rows);
    ELSE
        {REFRESH} (SELECT case_id FROM new_rows UNION SELECT case_id FROM old_rows);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Reference data that names many cases, edited a row at a time.
CREATE FUNCTION tracker_weaponsystem_search() RETURNS trigger AS $$
BEGIN
    {REFRESH} (SELECT case_id FROM tracker_case_weapon_systems WHERE weaponsystem_id = NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tracker_weaponsystem_search
    AFTER UPDATE OF name, aliases, category ON tracker_weaponsystem FOR EACH ROW
    WHEN ((OLD.name, OLD.aliases, OLD.category) IS DISTINCT FROM (NEW.name, NEW.aliases, NEW.category))
    EXECUTE FUNCTION tracker_weaponsystem_search();

CREATE FUNCTION tracker_sanctionsprovision_search() RETURNS trigger AS $$
BEGIN
    {REFRESH} (SELECT case_id FROM tracker_case_sanctions_provisions
                WHERE sanctionsprovision_id = NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tracker_sanctionsprovision_search
    AFTER UPDATE OF resolution, paragraph ON tracker_sanctionsprovision FOR EACH ROW
    WHEN ((OLD.resolution, OLD.paragraph) IS DISTINCT FROM (NEW.resolution, NEW.paragraph))
    EXECUTE FUNCTION tracker_sanctionsprovision_search();

CREATE FUNCTION tracker_source_search() RETURNS trigger AS $$
BEGIN
    {REFRESH} (SELECT case_id FROM evidence_evidenceitem
                WHERE source_id = NEW.id OR reporting_outlet_id = NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tracker_source_search
    AFTER UPDATE OF name ON evidence_source FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION tracker_source_search();

-- A later migration may add names or aliases.
CREATE FUNCTION tracker_country_search() RETURNS trigger AS $$
BEGIN
    {REFRESH} (SELECT id FROM tracker_case
                WHERE NEW.code IN (country, supplier_country, recipient_country));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tracker_country_search
    AFTER INSERT OR UPDATE ON tracker_country_search_name FOR EACH ROW
    EXECUTE FUNCTION tracker_country_search();
"""

LINKED_TABLES = [
    "tracker_case_weapon_systems",
    "tracker_case_sanctions_provisions",
    "evidence_evidenceitem",
]
LINKED_TRIGGERS = "\n".join(
    f"""
CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tracker_case_search_linked();
CREATE TRIGGER {table}_search_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tracker_case_search_linked();
CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tracker_case_search_linked();
"""
    for table in LINKED_TABLES
)

DROP_TRIGGERS = (
    "\n".join(
        f"DROP TRIGGER {table}_search_{event} ON {table};"
        for table in LINKED_TABLES
        for event in ("insert", "update", "delete")
    )
    + """
DROP TRIGGER tracker_country_search ON tracker_country_search_name;
DROP TRIGGER tracker_source_search ON evidence_source;
DROP TRIGGER tracker_sanctionsprovision_search ON tracker_sanctionsprovision;
DROP TRIGGER tracker_weaponsystem_search ON tracker_weaponsystem;
DROP FUNCTION tracker_country_search();
DROP FUNCTION tracker_source_search();
DROP FUNCTION tracker_sanctionsprovision_search();
DROP FUNCTION tracker_weaponsystem_search();
DROP FUNCTION tracker_case_search_linked();
DROP TRIGGER tracker_case_search_vector ON tracker_case;
DROP FUNCTION tracker_case_search_vector();
DROP FUNCTION tracker_case_search_document(tracker_case);
"""
)

FILL = "UPDATE tracker_case c SET search_vector = tracker_case_search_document(c);"


def country_names():
    """(code, names) of every country django-countries knows, with ALIASES."""
    from django_countries import Countries, countries
    from django_countries.data import COUNTRIES

    with translation.override("en"):
        for code in countries:
            code = code.code
            names = [countries.name(code), str(COUNTRIES.get(code, ""))]
            names += [str(name) for name in Countries.OLD_NAMES.get(code, [])]
            names += ALIASES.get(code, [])
            yield code, " ; ".join(dict.fromkeys(name for name in names if name))


def search_related_records(apps, schema_editor):
    schema_editor.execute(CREATE_COUNTRY_NAMES)
    with schema_editor.connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO tracker_country_search_name (code, names) VALUES (%s, %s)",
            list(country_names()),
        )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGERS)
        schema_editor.execute(LINKED_TRIGGERS)
        schema_editor.execute(FILL)


def search_own_text(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGERS)
        previous = importlib.import_module(
            "tracker.migrations.0007_case_search_vector_and_list_indexes"
        )
        # 0007's function, trigger and filling, as they were.
        schema_editor.execute(previous.TRIGGER)
    schema_editor.execute("DROP TABLE tracker_country_search_name")


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0011_date_precision_year"),
        # The search reads evidence items and sources.
        ("evidence", "0003_source_grading"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseSearchEntry",
            fields=[
                (
                    "case",
                    models.OneToOneField(
                        db_column="rowid",
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_entry",
                        serialize=False,
                        to="tracker.case",
                    ),
                ),
                ("document", tracker.models.FullTextTable(db_column="tracker_case_search")),
                ("rank", models.FloatField()),
            ],
            options={
                "db_table": "tracker_case_search",
                "managed": False,
            },
        ),
        migrations.AddField(
            model_name="historicalweaponsystem",
            name="aliases",
            field=models.TextField(
                blank=True,
                help_text="Other names and designations it is reported under, e.g. KN-23, "
                "KN-24; searching the cases finds them.",
            ),
        ),
        migrations.AddField(
            model_name="weaponsystem",
            name="aliases",
            field=models.TextField(
                blank=True,
                help_text="Other names and designations it is reported under, e.g. KN-23, "
                "KN-24; searching the cases finds them.",
            ),
        ),
        migrations.RunPython(search_related_records, search_own_text),
    ]
