"""Reference data every source relies on: the vocabulary (HSDS taxonomy and terms) and the
jurisdictions (provinces/territories and census divisions). Written only when they differ."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from caremap.jurisdictions import Boundaries, jurisdiction_records
from caremap.model import Jurisdiction, Taxonomy, TaxonomyTerm
from caremap.store import Store
from caremap.vocabulary import Vocabulary


def sync_reference_data(store: Store, vocabulary: Vocabulary, boundaries: Boundaries) -> None:
    """Bring the taxonomy and jurisdiction tables in line with the bundled files."""
    with store.engine.begin() as connection:
        _sync_vocabulary(connection, vocabulary)
        _sync_jurisdictions(connection, boundaries)


def _term_rows(vocabulary: Vocabulary) -> list[dict]:
    taxonomy_id = vocabulary.taxonomy.id
    return [
        {
            "id": term.code,
            "code": term.code,
            "taxonomy_id": taxonomy_id,
            "facet": term.facet,
            "name": term.label_en,
            "name_fr": term.label_fr,
            "description": term.description_en,
            "description_fr": term.description_fr,
            "parent_id": term.parent,
        }
        for facet in vocabulary.facets
        for term in vocabulary.terms(facet)
    ]


def _sync_vocabulary(connection: Connection, vocabulary: Vocabulary) -> None:
    taxonomy = vocabulary.taxonomy
    taxonomy_row = {
        "id": taxonomy.id,
        "name": taxonomy.name_en,
        "description": taxonomy.description_en,
        "uri": None,
        "version": taxonomy.version,
    }
    stored = (
        connection.execute(select(Taxonomy).where(Taxonomy.id == taxonomy.id)).mappings().first()
    )
    if stored is None or dict(stored) != taxonomy_row:
        connection.execute(delete(Taxonomy).where(Taxonomy.id == taxonomy.id))
        connection.execute(insert(Taxonomy), [taxonomy_row])
    wanted = {row["id"]: row for row in _term_rows(vocabulary)}
    stored_terms = {
        row["id"]: dict(row) for row in connection.execute(select(TaxonomyTerm)).mappings()
    }
    # Terms are never deleted (codes are never reused and attributes refer to them); changed
    # ones are updated in place, parents before children.
    for code, row in sorted(wanted.items(), key=lambda item: item[1]["parent_id"] is not None):
        if code not in stored_terms:
            connection.execute(insert(TaxonomyTerm), [row])
        elif stored_terms[code] != row:
            connection.execute(update(TaxonomyTerm).where(TaxonomyTerm.id == code).values(**row))


def _sync_jurisdictions(connection: Connection, boundaries: Boundaries) -> None:
    stored = set(connection.execute(select(Jurisdiction.level, Jurisdiction.code)).all())
    wanted = {
        (layer.config.level, str(code))
        for layer in boundaries.layers.values()
        for code in layer.codes
    }
    if stored == wanted:
        return
    connection.execute(delete(Jurisdiction))
    connection.execute(insert(Jurisdiction), jurisdiction_records(boundaries))
