"""The case search's language, read once and written out for each database.

Users type web-search syntax: words (all must match, in any inflection), "a phrase" in
double quotes, -word or -"a phrase" to exclude, and ``or`` between alternatives (it
binds looser than the implicit "and": ``drone or artillery shells`` is drone, or
artillery and shells). That is PostgreSQL's ``websearch_to_tsquery``; SQLite's FTS5
has a query language of its own in which a stray quote, bracket, ``*``, ``NEAR`` or
``column:`` is a syntax error. So the text is parsed here into words, and each database
is given a query built from those words alone, every word quoted: nothing the user
types reaches either database's query parser as syntax.

A word is a run of letters and digits; any other character separates words, and the
words of one chunk ("KN-23", "CASE-2024-0003", "6,700") must follow each other, as in
a phrase. The search documents are split the same way (FTS5's tokenizer does it; on
PostgreSQL the trigger replaces punctuation with spaces), so "KN-23" finds "KN-23/KN-24"
and "0003" finds CASE-2024-0003 on both.
"""

from dataclasses import dataclass
from itertools import groupby

# More terms than anyone types; the admin's search box has no length limit.
MAX_TERMS = 32

# PostgreSQL's "english" stop words (tsearch_data/english.stop), which its search drops
# from queries and documents alike. Dropped from SQLite's queries too, so that
# "debris of a missile" finds the same cases on both.
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what
    which who whom this that these those am is are was were be been being have has had
    having do does did doing a an the and but if or because as until while of at by for
    with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how
    all any both each few more most other some such no nor not only own same so than too
    very s t can will just don should now""".split()
)


@dataclass(frozen=True)
class Term:
    """A word or a phrase the user typed (its words, in order), or excluded."""

    words: tuple[str, ...]
    excluded: bool = False

    def quoted(self):
        # Words hold letters and digits only, so nothing inside the quotes is syntax.
        return '"' + " ".join(self.words) + '"'


@dataclass(frozen=True)
class Query:
    """Alternatives (``or``), each a list of terms that must all hold."""

    alternatives: tuple[tuple[Term, ...], ...]

    def __bool__(self):
        return bool(self.alternatives)

    def as_websearch(self):
        """The query in PostgreSQL's web-search syntax, for ``websearch_to_tsquery``."""
        return " or ".join(
            " ".join(("-" if term.excluded else "") + term.quoted() for term in terms)
            for terms in self.alternatives
        )

    def as_fts5(self, columns, everything):
        """The query as an FTS5 expression over ``columns`` (the searched columns of the
        table, in FTS5's ``{a b}`` form). ``everything`` is an expression that matches
        every row: FTS5 cannot say "not x" alone, only "y NOT x", and ``-drone`` should
        find every case that does not mention drones, as it does on PostgreSQL."""

        def match(term):
            return f"{columns} : {term.quoted()}"

        def alternative(terms):
            wanted = [match(term) for term in terms if not term.excluded]
            unwanted = [match(term) for term in terms if term.excluded]
            expression = "(" + " AND ".join(wanted) + ")" if wanted else everything
            if unwanted:
                expression = f"({expression} NOT ({' OR '.join(unwanted)}))"
            return expression

        return " OR ".join(alternative(terms) for terms in self.alternatives)


def words_of(text):
    """The runs of letters and digits in ``text``."""
    return tuple("".join(run) for alnum, run in groupby(text, key=str.isalnum) if alnum)


def parse(text):
    """Read web-search syntax into a Query; terms without a word that counts (only stop
    words or punctuation) are left out, as PostgreSQL leaves them out."""
    alternatives, terms = [], []
    excluded = False
    count = 0
    for kind, value in _tokens(text):
        if kind == "minus":
            excluded = True
            continue
        if kind == "or":
            if terms:
                alternatives.append(tuple(terms))
                terms = []
            continue
        words = words_of(value)
        if words and not all(word.lower() in STOP_WORDS for word in words) and count < MAX_TERMS:
            terms.append(Term(words, excluded))
            count += 1
        excluded = False
    if terms:
        alternatives.append(tuple(terms))
    return Query(tuple(alternatives))


def _tokens(text):
    """("phrase", text in quotes), ("chunk", text between spaces), ("minus", "") or
    ("or", "") from the user's text. An unclosed quote runs to the end. A minus
    excludes when it starts a chunk: "KN-23" is one chunk, "-shells" excludes."""
    position, length = 0, len(text)
    while position < length:
        char = text[position]
        if char.isspace():
            position += 1
        elif char == '"':
            end = text.find('"', position + 1)
            end = length if end == -1 else end
            yield "phrase", text[position + 1 : end]
            position = end + 1
        elif char == "-":
            yield "minus", ""
            position += 1
        else:
            end = position
            while end < length and not text[end].isspace() and text[end] != '"':
                end += 1
            chunk = text[position:end]
            yield ("or", "") if chunk.lower() == "or" else ("chunk", chunk)
            position = end
