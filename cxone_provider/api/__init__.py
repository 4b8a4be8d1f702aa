"""The CXone Data Actions API as a library: its data and rules, its errors, and the client.

Holds the pydantic models that enforce the API contract before a request (`models`), the
JavaScript check (`javascript`), the one exception tree rooted at `CxoneError` (`errors`),
how error answers are read (`responses`), OAuth client credentials (`auth`), pacing from the
rate-limit headers (`pacing`), the client itself (`client`), and two small helpers every
layer uses (`urls`: URLs as they may be shown; `textfiles`: the UTF-8 files users give).

The lowest layer: it imports nothing else of `cxone_provider`, and knows nothing of Pulumi,
the command line or the emulator (`lint-imports` checks this; see pyproject.toml).
"""
