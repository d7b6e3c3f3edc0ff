"""docs/reports.md's GraphQL examples are valid against the schema."""

import re
from pathlib import Path

from graphql import parse, validate

from leadwire.schema.schema import build_schema

DOC = Path(__file__).resolve().parent.parent / "docs" / "reports.md"


def test_the_reports_guides_graphql_examples_validate():
    blocks = re.findall(r"```graphql\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 6
    schema = build_schema()._schema
    for block in blocks:
        errors = validate(schema, parse(block))
        assert not errors, (block, errors)
