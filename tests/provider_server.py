"""The Pulumi engine's side of the provider protocol, for tests: a real plugin process over gRPC.

`ProviderServer` starts the SDK's dynamic-provider server exactly as the engine does
(`python -u -m pulumi.dynamic`, `PULUMI_PROJECT` set, the port read from its first stdout
line) and speaks the engine's protocol to it through `ResourceProviderStub`: Configure with the
stack config, then Check, Diff, Create, Read, Update and Delete, properties serialized with the
SDK's own `serialize_properties` and `__provider` from `serialize_provider`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from cxone_provider.deploy.properties import PROVIDER_KEY, TYPE_TOKEN
from cxone_provider.deploy.provider import DataActionProvider
from cxone_provider.deploy.resource import DataActionArgs, registration
from cxone_provider.deploy.settings import SETTINGS

PROJECT = "cxone-tests"
STACK = "test"
CALL_TIMEOUT_S = 120.0
START_TIMEOUT_S = 30.0
# Settings from the developer's environment must not leak into a test's plugin process.
SETTINGS_ENV = tuple(setting.env for setting in SETTINGS if setting.env is not None)


_SERIALIZING = threading.Lock()


@functools.cache
def _serialized_once() -> str:
    return serialize_provider(DataActionProvider())


def serialized_provider() -> str:
    """`__provider` as a program would put it into the registration (always the same text).

    Made once, under a lock: the SDK's serializer patches `pickle` while it runs and is not
    safe to call from several threads at once.
    """
    with _SERIALIZING:
        return _serialized_once()


def urn(resource_name: str) -> str:
    """The URN the engine would give a DataAction of this name in the test stack."""
    return f"urn:pulumi:{STACK}::{PROJECT}::{TYPE_TOKEN}::{resource_name}"


def inputs(resource_name: str, args: DataActionArgs, *, stack: str = STACK) -> dict[str, Any]:
    """The inputs a program registers for `DataAction(resource_name, args)`, with `__provider`."""
    registered = registration(resource_name, args, project=PROJECT, stack=stack)
    props = {key: value for key, value in registered.items() if value is not None}
    props[PROVIDER_KEY] = serialized_provider()
    return props


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Serialize properties as the engine sends them (the SDK's own serializer)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Deserialize properties as the engine reads them."""
    return dict(rpc.deserialize_properties(struct, keep_unknowns=True))


@dataclass
class Created:
    """A Create's answer."""

    id: str
    outputs: dict[str, Any]


@dataclass
class Read:
    """A Read's answer: an empty id when the resource is gone."""

    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None


@dataclass
class Checked:
    """A Check's answer: the inputs to record and the failures as (property, reason)."""

    inputs: dict[str, Any]
    failures: list[tuple[str, str]] = field(default_factory=list)


class ProviderServer:
    """One `python -m pulumi.dynamic` process; stop (or kill) it when done, it never exits alone."""

    def __init__(self, workdir: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.stderr_path = workdir / f"provider-stderr-{os.getpid()}-{id(self)}.log"
        environ = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
        environ.update(env or {})
        environ["PULUMI_PROJECT"] = PROJECT
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-m", "pulumi.dynamic"],
                cwd=workdir,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        self.port = self._read_port()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        try:
            grpc.channel_ready_future(self.channel).result(timeout=START_TIMEOUT_S)
        except grpc.FutureTimeoutError:
            self.kill()
            raise
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def _read_port(self) -> int:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.process.kill()
            self.process.wait()
            msg = f"the provider server did not print its port: {line!r}; stderr: {self.stderr()}"
            raise RuntimeError(msg)
        return int(line)

    def stderr(self) -> str:
        """Everything the plugin wrote to stderr so far (the engine shows this to the user)."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """End it as `pulumi` ends a plugin after a deployment: SIGINT, then SIGKILL if it lingers.

        Ending gracefully lets the process save what it must at exit (a coverage run's data);
        `kill()` is the crash.
        """
        try:
            self.kill(signal.SIGINT)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """End the process (SIGKILL by default: no cleanup, as in a crash); safe to repeat."""
        if hasattr(self, "channel"):
            self.channel.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=START_TIMEOUT_S)
        if self.process.stdout is not None:
            self.process.stdout.close()

    # --- the engine's calls ---

    def configure(self, config: Mapping[str, str], *, secret_keys: tuple[str, ...] = ()) -> None:
        """Send the stack config as the engine does: variables, and args with secrets marked."""
        args = {
            key: rpc.wrap_rpc_secret(value) if key in secret_keys else value
            for key, value in config.items()
        }
        self.stub.Configure(
            provider_pb2.ConfigureRequest(
                variables=dict(config), args=to_struct(args), acceptSecrets=True
            ),
            timeout=CALL_TIMEOUT_S,
        )

    def check(
        self, name: str, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None
    ) -> Checked:
        """Check the inputs of resource `name`."""
        response = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn(name),
                olds=to_struct(olds or {}),
                news=to_struct(news),
                name=name,
                type=TYPE_TOKEN,
            ),
            timeout=CALL_TIMEOUT_S,
        )
        return Checked(
            from_struct(response.inputs), [(f.property, f.reason) for f in response.failures]
        )

    def diff(
        self, name: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> provider_pb2.DiffResponse:
        """Diff recorded outputs against new checked inputs."""
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id_,
                urn=urn(name),
                olds=to_struct(olds),
                news=to_struct(news),
                name=name,
                type=TYPE_TOKEN,
            ),
            timeout=CALL_TIMEOUT_S,
        )

    def create(self, name: str, props: Mapping[str, Any]) -> Created:
        """Create the resource from checked inputs."""
        response = self.stub.Create(
            provider_pb2.CreateRequest(
                urn=urn(name), properties=to_struct(props), name=name, type=TYPE_TOKEN
            ),
            timeout=CALL_TIMEOUT_S,
        )
        return Created(response.id, from_struct(response.properties))

    def read(
        self,
        name: str,
        id_: str,
        *,
        properties: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> Read:
        """Read (refresh with `properties`, import with only `inputs`)."""
        request = provider_pb2.ReadRequest(id=id_, urn=urn(name), name=name, type=TYPE_TOKEN)
        if properties is not None:
            request.properties.CopyFrom(to_struct(properties))
        if inputs is not None:
            request.inputs.CopyFrom(to_struct(inputs))
        response = self.stub.Read(request, timeout=CALL_TIMEOUT_S)
        read_inputs = from_struct(response.inputs) if response.HasField("inputs") else None
        return Read(response.id, from_struct(response.properties), read_inputs)

    def update(
        self, name: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Update the resource from recorded outputs to new checked inputs."""
        response = self.stub.Update(
            provider_pb2.UpdateRequest(
                id=id_,
                urn=urn(name),
                olds=to_struct(olds),
                news=to_struct(news),
                name=name,
                type=TYPE_TOKEN,
            ),
            timeout=CALL_TIMEOUT_S,
        )
        return from_struct(response.properties)

    def delete(self, name: str, id_: str, props: Mapping[str, Any]) -> None:
        """Delete the resource, given its recorded outputs."""
        self.stub.Delete(
            provider_pb2.DeleteRequest(
                id=id_, urn=urn(name), properties=to_struct(props), name=name, type=TYPE_TOKEN
            ),
            timeout=CALL_TIMEOUT_S,
        )


class WebhookReceiver:
    """A webhook endpoint on loopback that records each request and answers from a script.

    `answers` is consumed one per request: an HTTP status, or a float of seconds to hang
    before answering 200; when it runs out, every request gets 200.
    """

    def __init__(self, answers: list[int | float] | None = None) -> None:
        self.answers = list(answers or [])
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.requests.append(
                        ({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = receiver.answers.pop(0) if receiver.answers else 200
                if isinstance(answer, float):
                    time.sleep(answer)
                    answer = 200
                self.send_response(answer)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 -- stdlib name
                """Keep test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cxone"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        """The JSON bodies received, in order."""
        with self._lock:
            return [json.loads(body) for _, body in self.requests]


def verify_standard_webhook(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Check a request as a Standard Webhooks receiver does (from the spec, not from our code)."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1) for part in headers["webhook-signature"].split(" ")]
    recent = abs(time.time() - int(headers["webhook-timestamp"])) < 300
    return recent and any(
        version == "v1" and hmac.compare_digest(value, expected) for version, value in offered
    )


@dataclass
class Recorded:
    """What the engine keeps of one resource between deployments: id, inputs, outputs."""

    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


class ForwardingMocks(Mocks):
    """A mock engine for `pulumi.runtime.set_mocks` that really deploys DataActions.

    Mocks never call providers, so this one does what the engine would for each DataAction
    registration: Check, then Create (new resource) or Diff and, only when it reports a
    change, Update (resource in `state`, the previous deployment). Secrets are unwrapped
    first, as the engine does for a provider that does not accept them. `calls` counts the
    provider calls by name; `state` ends up as the new deployment's state.
    """

    def __init__(self, plugin: ProviderServer, state: dict[str, Recorded] | None = None) -> None:
        self.plugin = plugin
        self.previous = dict(state or {})
        self.state: dict[str, Recorded] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, call: str) -> None:
        with self._lock:
            self.calls[call] = self.calls.get(call, 0) + 1

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Deploy one registration through the provider server; answer with its outputs."""
        if args.typ != TYPE_TOKEN:
            return f"{args.name}-id", args.inputs
        news = {key: _unwrap_secrets(value) for key, value in args.inputs.items()}
        prior = self.previous.get(args.name)
        self._count("Check")
        checked = self.plugin.check(args.name, news, prior.inputs if prior else None)
        if checked.failures:
            msg = f"{args.name}: check failed: {checked.failures}"
            raise AssertionError(msg)
        if prior is None:
            self._count("Create")
            created = self.plugin.create(args.name, checked.inputs)
            recorded = Recorded(created.id, checked.inputs, created.outputs)
        else:
            self._count("Diff")
            diff = self.plugin.diff(args.name, prior.id, prior.outputs, checked.inputs)
            if diff.replaces:
                msg = f"{args.name}: replacement is not simulated by this mock engine"
                raise AssertionError(msg)
            outputs = prior.outputs
            if engine_updates(diff, prior.inputs, checked.inputs):
                self._count("Update")
                outputs = self.plugin.update(args.name, prior.id, prior.outputs, checked.inputs)
            recorded = Recorded(prior.id, checked.inputs, outputs)
        with self._lock:
            self.state[args.name] = recorded
        return recorded.id, recorded.outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], None]:
        """No provider functions exist; an invoke is a test bug."""
        msg = f"unexpected invoke {args.token}"
        raise AssertionError(msg)


def engine_updates(
    diff: provider_pb2.DiffResponse, old_inputs: Mapping[str, Any], new_inputs: Mapping[str, Any]
) -> bool:
    """Whether the engine updates in place after this Diff answer, as `diffResource` decides.

    DIFF_SOME updates; DIFF_UNKNOWN makes the engine compare the old and new inputs itself.
    """
    if diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN:
        return dict(old_inputs) != dict(new_inputs)
    return diff.changes == provider_pb2.DiffResponse.DIFF_SOME


def _unwrap_secrets(value: Any) -> Any:
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {key: _unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(item) for item in value]
    return value


def emulator_settings(emulator: Any, **overrides: str) -> dict[str, str]:
    """The stack config that connects the provider to an emulator, plus `cxone:<key>` settings."""
    return {
        "cxone:baseUrl": emulator.base_url,
        "cxone:clientId": emulator.client_id,
        "cxone:clientSecret": emulator.client_secret,
        **{f"cxone:{key}": value for key, value in overrides.items()},
    }
