"""Print the public GraphQL schema (SDL): `python -m leadwire.schema > schema/schema.graphql`."""

from leadwire.schema.schema import build_schema

print(build_schema(), end="\n")
