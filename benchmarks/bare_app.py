"""The yardstick for benchmarks/api_load.py: a litestar endpoint that decodes the same check
body with the same strict decoder and returns a constant decision, served the same way."""

from __future__ import annotations

import msgspec
from litestar import Litestar, post
from litestar.params import RawBody

from registry.checking import decode_request

ANSWER = msgspec.json.encode(
    {"decision_id": "bare", "allowed": True, "agreement": "bench-mou", "reasons": []}
)


@post("/v1/checks", status_code=200)
async def check(body: RawBody) -> bytes:
    decode_request(body)
    return ANSWER


def create() -> Litestar:
    return Litestar(route_handlers=[check])
