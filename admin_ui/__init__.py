"""The bundled admin UI: a TypeScript single-page app (sources beside this file,
built into ``dist/``) that speaks only the public GraphQL API. ``serve`` answers
``/admin``; ``build`` builds the assets when they are missing."""
