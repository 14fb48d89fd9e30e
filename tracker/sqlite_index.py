"""SQLite's full-text index of the cases: an FTS5 table that triggers keep current.

Each case is one row (rowid = the case's id) of ``tracker_case_search``, with the text
a search reads in four columns, weighted for ranking like PostgreSQL's A-D weights of
``Case.search_vector`` (migration 0010 builds that one):

- heading: the reference and title;
- details: summary, place, reported quantity, the names of its countries (where,
  supplier, recipient; with their aliases, from ``tracker_country_search_name``) and
  its weapon systems' names, aliases and categories;
- provisions: the sanctions provisions it may breach;
- evidence: its evidence items' titles and excerpts, with their sources' and outlets'
  names.

Triggers on every table the text comes from rewrite a case's row in the same
statement that changed it: adding or editing evidence, linking a weapon system,
renaming a source, a new alias.

Why not a migration: Django changes an SQLite table by making a new one and renaming it
over the old, which drops the table's triggers, and SQLite refuses the rename while a
trigger anywhere reads the old table. So the triggers are dropped before ``migrate``
runs migrations and made again afterwards from this module, and the index is then
rebuilt (a data migration may have changed cases meanwhile). PostgreSQL alters tables
in place and keeps its triggers in migrations.
"""

from django.db import connections, transaction

TABLE = "tracker_case_search"
COLUMNS = ("heading", "details", "provisions", "evidence")
# FTS5 cannot match "everything", which "-drone" alone needs: every row holds this.
EVERYTHING_COLUMN, EVERYTHING = "all_cases", "all"
# bm25's weight of each column, EVERYTHING_COLUMN last (it says nothing of relevance).
WEIGHTS = (10.0, 4.0, 2.0, 1.0, 0.0)

CREATE_TABLE = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
    f"{', '.join(COLUMNS)}, {EVERYTHING_COLUMN}, tokenize='porter unicode61')"
)
RANK = f"bm25({', '.join(map(str, WEIGHTS))})"

# One case's row, the case being ``c``; the sources of each column are listed above.
DOCUMENT = f"""
SELECT c.id,
    c.reference || ' ' || c.title,
    c.summary || ' ' || c.place_name || ' ' || c.reported_quantity || ' ' || coalesce((
        SELECT group_concat(n.names, ' ') FROM tracker_country_search_name n
        WHERE n.code IN (c.country, c.supplier_country, c.recipient_country)
    ), '') || ' ' || coalesce((
        SELECT group_concat(w.name || ' ' || w.aliases || ' ' || w.category, ' ')
        FROM tracker_case_weapon_systems cw
        JOIN tracker_weaponsystem w ON w.id = cw.weaponsystem_id
        WHERE cw.case_id = c.id
    ), ''),
    coalesce((
        SELECT group_concat('UNSCR ' || p.resolution || ' ' || p.paragraph, ' ')
        FROM tracker_case_sanctions_provisions cp
        JOIN tracker_sanctionsprovision p ON p.id = cp.sanctionsprovision_id
        WHERE cp.case_id = c.id
    ), ''),
    coalesce((
        SELECT group_concat(
            e.title || ' ' || e.excerpt || ' ' || s.name || ' ' || coalesce(o.name, ''), ' '
        )
        FROM evidence_evidenceitem e
        JOIN evidence_source s ON s.id = e.source_id
        LEFT JOIN evidence_source o ON o.id = e.reporting_outlet_id
        WHERE e.case_id = c.id
    ), ''),
    '{EVERYTHING}'
FROM tracker_case c"""

INSERT = f"INSERT INTO {TABLE}(rowid, {', '.join(COLUMNS)}, {EVERYTHING_COLUMN})"


def refresh(case_ids):
    """Statements that rewrite the rows of the cases ``case_ids`` (SQL giving ids)."""
    return (
        f"DELETE FROM {TABLE} WHERE rowid IN ({case_ids});\n"
        f"{INSERT} {DOCUMENT} WHERE c.id IN ({case_ids});"
    )


# (trigger name, the event, the statements it runs)
TRIGGERS = [
    ("case_insert", "AFTER INSERT ON tracker_case", refresh("NEW.id")),
    (
        "case_update",
        "AFTER UPDATE OF reference, title, summary, place_name, reported_quantity, country, "
        "supplier_country, recipient_country ON tracker_case",
        refresh("OLD.id, NEW.id"),
    ),
    ("case_delete", "AFTER DELETE ON tracker_case", f"DELETE FROM {TABLE} WHERE rowid = OLD.id;"),
    *(
        trigger
        for table, name in [
            ("tracker_case_weapon_systems", "weapon_link"),
            ("tracker_case_sanctions_provisions", "provision_link"),
            ("evidence_evidenceitem", "evidence"),
        ]
        for trigger in [
            (f"{name}_insert", f"AFTER INSERT ON {table}", refresh("NEW.case_id")),
            (f"{name}_update", f"AFTER UPDATE ON {table}", refresh("OLD.case_id, NEW.case_id")),
            (f"{name}_delete", f"AFTER DELETE ON {table}", refresh("OLD.case_id")),
        ]
    ),
    (
        "weapon_update",
        "AFTER UPDATE OF name, aliases, category ON tracker_weaponsystem",
        refresh("SELECT case_id FROM tracker_case_weapon_systems WHERE weaponsystem_id = NEW.id"),
    ),
    (
        "provision_update",
        "AFTER UPDATE OF resolution, paragraph ON tracker_sanctionsprovision",
        refresh(
            "SELECT case_id FROM tracker_case_sanctions_provisions "
            "WHERE sanctionsprovision_id = NEW.id"
        ),
    ),
    (
        "source_update",
        "AFTER UPDATE OF name ON evidence_source",
        refresh(
            "SELECT case_id FROM evidence_evidenceitem "
            "WHERE source_id = NEW.id OR reporting_outlet_id = NEW.id"
        ),
    ),
]


def create_trigger(name, event, statements):
    return f"CREATE TRIGGER {TABLE}_{name} {event} BEGIN\n{statements}\nEND"


# What the index reads must exist: after migrating backwards it may not.
REQUIRED = {
    "tracker_case": "recipient_country",
    "tracker_weaponsystem": "aliases",
    "tracker_country_search_name": "names",
    "evidence_evidenceitem": "excerpt",
}


def drop_triggers(using):
    """Drop the index's triggers, so that migrations may remake the tables they read."""
    connection = connections[using]
    with connection.cursor() as cursor:
        for name in _existing(cursor, "trigger"):
            cursor.execute(f"DROP TRIGGER {name}")


def install(using):
    """Make the index and its triggers as this module defines them, where anything is
    missing or different, and then fill the index anew. Returns whether it did."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if not _has_required_schema(connection, cursor):
            return False
        existing = _existing(cursor, "table") | _existing(cursor, "trigger")
        wanted = {TABLE: CREATE_TABLE} | {
            f"{TABLE}_{name}": create_trigger(name, event, statements)
            for name, event, statements in TRIGGERS
        }
        changed = [name for name, sql in wanted.items() if existing.get(name) != sql]
        if TABLE not in changed and _rank(cursor) != RANK:
            changed.append(TABLE)
        if not changed:
            return False
        for name in existing:
            if name != TABLE:
                cursor.execute(f"DROP TRIGGER {name}")
        if TABLE in changed:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
            cursor.execute(CREATE_TABLE)
            cursor.execute(f"INSERT INTO {TABLE}({TABLE}, rank) VALUES ('rank', %s)", [RANK])
        for name, sql in wanted.items():
            if name != TABLE:
                cursor.execute(sql)
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(f"{INSERT} {DOCUMENT}")
    return True


def _existing(cursor, kind):
    """{name: SQL} of the index's table (not FTS5's own shadow tables) or triggers, as
    the database holds them."""
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = %s AND name LIKE %s",
        [kind, f"{TABLE}%"],
    )
    return {name: sql for name, sql in cursor.fetchall() if kind == "trigger" or name == TABLE}


def _rank(cursor):
    cursor.execute(f"SELECT v FROM {TABLE}_config WHERE k = 'rank'")
    row = cursor.fetchone()
    return row[0] if row else None


def _has_required_schema(connection, cursor):
    tables = set(connection.introspection.table_names(cursor))
    return all(
        table in tables
        and column
        in {info.name for info in connection.introspection.get_table_description(cursor, table)}
        for table, column in REQUIRED.items()
    )
