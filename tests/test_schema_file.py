"""The committed schema.graphql is the schema the server serves: a change to the
public API shows up in review as a diff of that file."""

from pathlib import Path

from leadwire.schema.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


def test_committed_schema_matches_the_code():
    assert SCHEMA_FILE.read_text() == str(build_schema()) + "\n", (
        "the public schema changed: run `python -m leadwire.schema > schema/schema.graphql` and commit it"
    )


def test_every_mutation_takes_one_input_and_returns_user_errors():
    schema = build_schema()._schema
    for name, field in schema.mutation_type.fields.items():
        assert set(field.args) <= {"input"}, f"{name} takes {sorted(field.args)}"
        payload = field.type.of_type if hasattr(field.type, "of_type") else field.type
        assert "userErrors" in payload.fields, f"{name}'s payload has no userErrors"
