"""A local CXone Data Actions API: a real HTTP server with a persistent store and a V8 sandbox.

Laid out like a moto service: `store` (state and rules in SQLite, no HTTP; its SQL in
`queries`, its database-free rules in `rules`), `exceptions` (each error answer fixes its
status and code), `api` and `control` (parse, call the backend, serialize; no state),
`middleware` (small pure-ASGI layers, with what they learn of a request in `scope`),
`oauth`, `ratelimit`, `faults`, `stats`, `openapi` and `apidoc` (the API's document),
`transport` (counting TCP connections), `server` (binding, signals), and the `sandbox` that
runs an action's script in `sandbox_worker` processes (`cxone test` uses it too).

It may import `cxone_provider.api` (the models and rules the client shares); it must not
import the Pulumi side (`cxone_provider.deploy`) nor the command line (`lint-imports`
checks this; see pyproject.toml).
"""
