"""Our engine against general-purpose policy engines on the typical transfer.

    .venv/bin/python benchmarks/policy_engines.py [--batches 20] [--batch-size 2000]
                                                  [--max-batch-seconds 0.5] [--show-policies]

Times, in one run, microseconds per decision of:

- registry: ``Decider().decide()`` from benchmarks/typical.py (core checker + irc6103);
- Cedar:    the same policy in Cedar, evaluated by ``cedarpy``;
- casbin:   as much of it as a casbin ABAC model can say, evaluated by pure-Python ``casbin``;
- Rego:     the same policy in Rego, evaluated by ``regorus`` (PyPI: ``gordon-to-regorus``).

The comparison engines are not runtime dependencies: ``pip install -e '.[bench]'`` (cedarpy,
casbin) and ``pip install gordon-to-regorus``; an engine that is not installed is skipped.

Every engine decides the same transfer (benchmarks/typical.py: 10 fields, 5 request elements,
3 records with complete addresses, agreements/irs-ice-2025-mou.toml) and must allow it; then
each decides a set of variants. The variants where an engine decides differently from ours
must be exactly its declared gaps (COVERAGE below), so the comparison policies are neither
vacuous nor over-claimed; every engine must deny a field outside the agreement.

Fairness: each engine gets its input already in its own shape, built once before timing (our
engine a decoded ``CheckRequest``; Cedar pre-parsed policies and entities and contexts as
pre-serialized JSON, the cheapest form cedarpy accepts; casbin request dicts; regorus a JSON
input string), so decoding is timed for none. Batches of the engines are interleaved, in a
rotating order, so the machine's noise falls on all alike; the garbage collector stays on for
all. Slow engines get smaller batches (at most --max-batch-seconds each); the table says how
many decisions each batch held. Not a test.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import importlib.metadata
import itertools
import json
import os
import platform
import statistics
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from registry_plugins.irc6103 import address
from typical import REQUEST, Decider, agreement, parties

from registry.schemas import Agreement, CheckRequest, Party

Decide = Callable[[], bool]

# What each engine evaluates, printed with the results. The registry's own policy is the
# reference; a comparison engine's "gaps" are the variants (CASES) it decides differently,
# checked at start-up. Not modelled by any comparison engine: redisclosure of data received
# under another agreement (none in this transfer) and record_count given apart from the
# records (not given here): both are core checks our engine runs on every decision.
COVERAGE: dict[str, tuple[str, str]] = {
    "registry": (
        "whole policy (the reference)",
        "core checker + irc6103 plugin, every reason collected: agreement status and dates;"
        " recipient, source system, purpose; each field covered by a permitted field at a dot"
        " boundary and reaching into no prohibited pattern; request elements present; signer"
        " authorized; distinct approvers per role; per-request and per-period limits;"
        " redisclosure; per record: required fields and subject key present, every leaf key"
        " of the record permitted; irc6103: statute (normalized spelling) designated,"
        " recipient safeguards accepted, each record's address complete (street with number"
        " and name or PO box, city, state, ZIP, no placeholders; table or one-line form).",
    ),
    "Cedar": (
        "no record-key walk; exact statute; rough address",
        "one batch call of 14 requests, all must be Allow, because Cedar has no quantifier over"
        " a set: 1 transfer request (status, dates, recipient, source system, purpose, request"
        " elements present, signer, approvals, both limits, statute by exact string, recipient"
        " safeguards), 1 request per field (== or like 'prefix.*' per permitted field, forbid"
        " for the prohibited pattern) and 1 per record (required fields and subject key present,"
        " no 'return' key, address table has street/city/state/zip). Approximated: street must"
        " start with a digit and contain a space (or be 'PO Box …' in a few spellings), state"
        " in the list (exact case), city not one of a few exact placeholder spellings, ZIP"
        " only non-empty (like has no character classes); approvals: 'at least one' only (no"
        " set size). Not evaluated: record keys outside the permitted fields (a record's keys"
        " cannot be listed), statute spelling variants, one-line addresses (denied).",
    ),
    "casbin": (
        "no record-key walk; exact statute; address table only",
        "14 enforce() calls, all must allow, because a matcher sees one policy line at a time:"
        " 1 transfer enforce (p line: agreement, recipient, source system, purpose, dates;"
        " g: authorized signer, g2: permitted statute (exact string), g3: party -> safeguard"
        " status -> agreement; matcher: status, request elements present, approval role present"
        " (count 1 only: no counting), limits as literals, since policy values are strings),"
        " 1 enforce per field (p2 line per permitted prefix, == or keyMatch 'prefix.*', deny"
        " line for the prohibited pattern) and 1 per record (required fields and subject key"
        " present, no 'return' key, address street/city/state/zip checked by regexMatch with"
        " expressions written here from the irc6103 rules, the plugin's PLACEHOLDER included)."
        " Not evaluated: record keys outside the permitted fields, statute spelling variants,"
        " one-line addresses and alternative address keys (denied).",
    ),
    "Rego": (
        "whole policy but redisclosure",
        "one query (data.registry.transfer.allow = no deny reason), every reason collected:"
        " all the core and irc6103 rules above, iterating fields and records with"
        " some/every/walk, statute normalized as the plugin does, distinct approvers counted,"
        " each distinct field or record path judged once, address checked with expressions"
        " written here from the irc6103 rules (Rust regex: PLACEHOLDER's back-reference is a"
        " Rego rule, its \\W is ASCII to fit regorus's compiled-regex size limit).",
    ),
}


# ---------------------------------------------------------------- the transfers decided


@dataclass(frozen=True)
class Case:
    name: str
    request: dict[str, Any]
    allowed: bool  # what the registry decides (asserted)
    period_used: int = 0


_DELETE = object()


def _case(name: str, allowed: bool, *edits: tuple[str, Any], period_used: int = 0) -> Case:
    """REQUEST with each (dotted path, value) set; records.N addresses a record."""
    request = copy.deepcopy(REQUEST)
    for path, value in edits:
        *parents, last = path.split(".")
        node: Any = request
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return Case(name, request, allowed, period_used)


TYPICAL = Case("typical transfer", copy.deepcopy(REQUEST), True)
CASES = [
    TYPICAL,
    _case("field outside the agreement", False, ("fields", [*REQUEST["fields"], "taxpayer.phone"])),
    _case("prohibited field", False, ("fields", [*REQUEST["fields"], "return.wages"])),
    _case("record carries an unlisted field", False, ("records.2.taxpayer.phone", "555-0100")),
    _case("record without TIN", False, ("records.0.taxpayer.tin", _DELETE)),
    _case("incomplete address", False, ("records.1.taxpayer.address", {"zip": "62701"})),
    _case("placeholder street", False, ("records.1.taxpayer.address.street", "123 Not Provided")),
    _case("ZIP not a ZIP", False, ("records.1.taxpayer.address.zip", "ABCDE")),
    _case("placeholder city", False, ("records.1.taxpayer.address.city", "Unknown")),
    _case("PO box address", True, ("records.1.taxpayer.address.street", "PO Box 7")),
    _case("purpose not in the agreement", False, ("purpose", "tax-administration")),
    _case("source system not covered", False, ("source_system", "irs-master-file")),
    _case("request element missing", False, ("request.case_number", "")),
    _case("unauthorized signer", False, ("request.signed_by", "Deputy Director, ICE")),
    _case("no approval", False, ("approvals", [])),
    _case("statute not designated", False, ("request.statutory_authority", "8 U.S.C. 1326(a)")),
    _case("agreement expired", False, ("on", "2027-05-01")),
    _case("over the period limit", False, period_used=9998),
    _case("statute spelled differently", True, ("request.statutory_authority", "8 USC 1253(a)(1)")),
    _case(
        "one-line address",
        True,
        ("records.1.taxpayer.address", "13 Main St, Springfield, IL 62701"),
    ),
]
FIELD_OUTSIDE = CASES[1].name


@dataclass
class Engine:
    name: str
    version: str
    work: str  # calls per decision
    prepare: Callable[[Case], Decide]
    gaps: frozenset[str] = frozenset()
    decide: Decide | None = field(default=None, repr=False)


def approvers(case: Case) -> dict[str, list[str]]:
    """Approvals grouped by role, blank names dropped: the input shape Cedar and casbin need,
    as neither can filter or group a list."""
    roles: dict[str, list[str]] = {}
    for approval in case.request["approvals"]:
        name, names = approval["by"].strip(), roles.setdefault(approval["role"], [])
        if name and name not in names:
            names.append(name)
    return {role: names for role, names in roles.items() if names}


def required_record_fields(a: Agreement) -> list[str]:
    fields = list(a.records.required_fields)
    if a.records.subject_key and a.records.subject_key not in fields:
        fields.append(a.records.subject_key)
    return fields


def irc6103_config(a: Agreement) -> dict[str, Any]:
    config = a.checkers["irc6103"]
    return config if isinstance(config, dict) else msgspec.to_builtins(config)


def prefix_patterns(a: Agreement) -> list[str]:
    """Prohibited patterns of the form 'prefix.*' (all this agreement has), as the prefix:
    both Cedar's like and casbin's keyMatch treat '*' as 'anything', not 'one segment'."""
    prefixes = []
    for pattern in a.fields.prohibited:
        prefix = pattern.removesuffix(".*")
        if prefix == pattern or "*" in prefix or "?" in prefix or "[" in prefix:
            raise NotImplementedError(f"prohibited pattern {pattern!r} is not 'prefix.*'")
        prefixes.append(prefix)
    return prefixes


# The irc6103 address rules (plugins/irc6103/address.py, is_complete) as regular expressions,
# for the engines that have them (casbin's regexMatch: Python re; Rego: Rust regex), written
# here from the rules, since the plugin itself uses string methods. Each is matched whole.
HOUSE_NUMBER = r"\s*\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?\s+"  # "12", "12A", "12-14", "1/2B"
PO_BOX = r"\s*(?i:p\.?\s*o\.?\s*box|post\s+office\s+box)\s*#?\s*\d+\s*"
CITY = r"\s*[ .'-]*[A-Za-z][ .'-]*[A-Za-z][A-Za-z .'-]*\s*"  # 2+ ASCII letters, " .'-"
STATE = r"\s*(?i:" + "|".join(sorted(address.STATES)) + r")\.*\s*"
ZIP = r"\s*[0-9]{5}(?:-[0-9]{4})?\s*"
REPEATED = r"|(\w)\1*"  # PLACEHOLDER's back-reference alternative: Rust regex has none
# Unicode \W, repeated in PLACEHOLDER, makes it exceed regorus's 100 KB compiled-regex limit;
# ASCII here (a city is ASCII anyway; a street name with non-ASCII letters may differ).
ASCII_W = "[^0-9A-Za-z_]"
assert REPEATED in address.PLACEHOLDER.pattern


# ---------------------------------------------------------------- 1. the registry


def registry_engine() -> Engine:
    def prepare(case: Case) -> Decide:
        decider = Decider()
        if case is not TYPICAL:
            decider.request = msgspec.convert(case.request, CheckRequest)
            decider.records = decider.request.records or ()
            decider.on = datetime.date.fromisoformat(case.request["on"])
            decider.usage = {case.request["agreement"]: case.period_used}
        return lambda: decider.decide().allowed

    version = f"agreement-registry {importlib.metadata.version('agreement-registry')}"
    return Engine("registry", version, "1 decide() call", prepare)


# ---------------------------------------------------------------- 2. Cedar (cedarpy)


def _q(text: str) -> str:
    return json.dumps(text)


def _present(expr: str, path: list[str]) -> str:
    """Cedar: the value at ``path`` under ``expr`` exists and is not empty or false."""
    tests = []
    for part in path:
        tests.append(f"{expr} has {_q(part)}")
        expr = f"{expr}[{_q(part)}]"
    tests += [f'{expr} != ""', f"{expr} != false", f"{expr} != []", f"{expr} != {{}}"]
    return " && ".join(tests)


# A few exact spellings of placeholder cities: Cedar has no regular expressions or case folding.
CEDAR_CITY_PLACEHOLDERS = ["Unknown", "unknown", "UNKNOWN", "None", "none", "N/A", "n/a", "TBD"]
CEDAR_PO_BOX = ["PO Box *", "P.O. Box *", "Post Office Box *", "po box *"]


def cedar_policies(a: Agreement) -> str:
    """The agreement in Cedar. Its set-valued data (parties, systems, purposes, signers,
    statutes, dates, limits) are attributes of the Agreement entity; what Cedar can only
    test against literals (field patterns, element and key names) is written from it."""
    scope = f"resource == Agreement::{_q(a.id)}"
    elements = " &&\n  ".join(_present("context.request", [e]) for e in a.request.required)
    approvals = []
    for rule in a.request.approvals:
        if rule.count > 1:
            raise NotImplementedError("Cedar has no set size: cannot count approvers")
        role = _q(rule.role)
        approvals.append(f"context.approvals has {role} && !context.approvals[{role}].isEmpty()")
    limits = []
    if a.limits.max_records_per_request is not None:
        limits.append("context.record_count <= resource.max_records_per_request")
    if a.limits.max_records_per_period is not None:
        limits.append(
            "context.period_used + context.record_count <= resource.max_records_per_period"
        )
    signer = "resource.signers.contains(context.request.signed_by)"
    transfer = " &&\n  ".join(
        [
            'resource.status == "active"',
            "resource.effective <= context.on && context.on <= resource.expires",
            "resource.recipients.contains(principal)",
            "resource.source_systems.contains(context.source_system)",
            "resource.purposes.contains(context.purpose)",
            elements,
            *([signer] if a.request.authorized_signers else []),
            *approvals,
            *limits,
            "resource.statutes.contains(context.request.statutory_authority)",
            "principal has safeguards &&"
            " resource.accepted_safeguards.contains(principal.safeguards)",
        ]
    )
    permitted = " ||\n  ".join(
        f"context.field == {_q(p)} || context.field like {_q(p + '.*')}" for p in a.fields.permitted
    )
    prohibited = " ||\n  ".join(
        f"context.field == {_q(p)} || context.field like {_q(p + '.*')}" for p in prefix_patterns(a)
    )
    required = " &&\n  ".join(
        _present("context.record", f.split(".")) for f in required_record_fields(a)
    )
    path = "".join(f"[{_q(part)}]" for part in irc6103_config(a)["address_field"].split("."))
    at = f"context.record{path}"
    street = " || ".join(
        [f'{at}.street like "{d}* *"' for d in "0123456789"]
        + [f"{at}.street like {_q(p)}" for p in CEDAR_PO_BOX]
    )
    states = ", ".join(_q(s) for s in sorted(address.STATES))
    cities = ", ".join(_q(c) for c in CEDAR_CITY_PLACEHOLDERS)
    no_keys = " || ".join(f"context.record has {_q(p.split('.')[0])}" for p in prefix_patterns(a))
    return f"""// core: the transfer; irc6103: statute and recipient safeguards
@id("transfer")
permit (principal, action == Action::"disclose", resource)
when {{
  {transfer}
}};

// core: one request per requested field
@id("field-permitted")
permit (principal, action == Action::"include_field", {scope})
when {{
  {permitted}
}};

@id("field-prohibited")
forbid (principal, action == Action::"include_field", {scope})
when {{
  {prohibited}
}};

// core: one request per record (required fields, subject key); irc6103: its address
@id("record")
permit (principal, action == Action::"include_record", {scope})
when {{
  {required} &&
  {at} has street && {at} has city && {at} has state && {at} has zip &&
  ({street}) &&
  {at}.city != "" && ![{cities}].contains({at}.city) &&
  [{states}].contains({at}.state) &&
  {at}.zip != ""
}};

@id("record-prohibited")
forbid (principal, action == Action::"include_record", {scope})
when {{ {no_keys} }};
"""


def _cedar_date(day: Any) -> dict[str, Any]:
    return {"__extn": {"fn": "datetime", "arg": str(day)}}


def cedar_entities(a: Agreement, people: dict[str, Party]) -> list[dict[str, Any]]:
    config = irc6103_config(a)
    limits = {
        name: value
        for name, value in (
            ("max_records_per_request", a.limits.max_records_per_request),
            ("max_records_per_period", a.limits.max_records_per_period),
        )
        if value is not None
    }
    agreement_entity = {
        "uid": {"type": "Agreement", "id": a.id},
        "attrs": {
            "status": a.status,
            "effective": _cedar_date(a.effective),
            "expires": _cedar_date(a.expires),
            "recipients": [{"__entity": {"type": "Agency", "id": r}} for r in a.recipients],
            "source_systems": list(a.source_systems),
            "purposes": [p.code for p in a.purposes],
            "signers": list(a.request.authorized_signers),
            "statutes": list(config["permitted_statutes"]),
            "accepted_safeguards": list(config.get("recipient_safeguards", ())),
            **limits,
        },
        "parents": [],
    }
    agencies = [
        {
            "uid": {"type": "Agency", "id": p.id},
            "attrs": {"safeguards": p.safeguards.status} if p.safeguards else {},
            "parents": [],
        }
        for p in people.values()
    ]
    return [agreement_entity, *agencies]


def cedar_engine(a: Agreement, people: dict[str, Party]) -> Engine | None:
    try:
        import cedarpy
    except ImportError:
        print("cedarpy is not installed (pip install -e '.[bench]'): Cedar skipped")
        return None
    policies = cedarpy.PolicySet.from_str(cedar_policies(a))
    entities = cedarpy.Entities.from_json_str(json.dumps(cedar_entities(a, people)))

    def prepare(case: Case) -> Decide:
        r = case.request
        resource = {"type": "Agreement", "id": r["agreement"]}
        principal = {"type": "Agency", "id": r["recipient"]}

        def request(action: str, context: dict[str, Any]) -> dict[str, Any]:
            return {
                "principal": principal,
                "action": {"type": "Action", "id": action},
                "resource": resource,
                "context": json.dumps(context),
            }

        transfer = {
            "on": _cedar_date(r["on"]),
            "source_system": r["source_system"],
            "purpose": r["purpose"],
            "request": r["request"],
            "approvals": approvers(case),
            "record_count": len(r["records"]),
            "period_used": case.period_used,
        }
        requests = [
            request("disclose", transfer),
            *(request("include_field", {"field": f}) for f in r["fields"]),
            *(request("include_record", {"record": rec}) for rec in r["records"]),
        ]
        batch = cedarpy.is_authorized_batch

        def decide() -> bool:
            return all(result.allowed for result in batch(requests, policies, entities))

        return decide

    gaps = {
        "record carries an unlisted field",
        "placeholder street",
        "ZIP not a ZIP",
        "statute spelled differently",
        "one-line address",
    }
    return Engine(
        "Cedar",
        f"cedarpy {importlib.metadata.version('cedarpy')}",
        f"1 batch call, {1 + len(REQUEST['fields']) + len(REQUEST['records'])} requests",
        prepare,
        frozenset(gaps),
    )


# ---------------------------------------------------------------- 3. casbin


def _casbin_present(expr: str, path: list[str]) -> str:
    tests = []
    for part in path:
        tests.append(f"{_q(part)} in {expr}")
        expr = f"{expr}[{_q(part)}]"
    return " && ".join([*tests, f"{expr} not in ('', False, None, [], {{}})"])


def casbin_model(a: Agreement) -> str:
    """The casbin model (request, policy and role definitions, effect, matchers). Policy
    values are strings, so the limits are literals here; request elements and required
    record fields are names a matcher must spell out, so they are written from the agreement."""
    elements = " && ".join(_casbin_present("r.sub.request", [e]) for e in a.request.required)
    signer = ["g(r.sub.request['signed_by'], p.agreement)"] if a.request.authorized_signers else []
    approvals = []
    for rule in a.request.approvals:
        if rule.count > 1:
            raise NotImplementedError("a casbin matcher cannot count approvers")
        approvals.append(f"{_q(rule.role)} in r.sub.approvers")
    limits = []
    if a.limits.max_records_per_request is not None:
        limits.append(f"r.sub.record_count <= {a.limits.max_records_per_request}")
    if a.limits.max_records_per_period is not None:
        limits.append(
            f"r.sub.period_used + r.sub.record_count <= {a.limits.max_records_per_period}"
        )
    transfer = " && ".join(
        [
            "r.sub.agreement == p.agreement && p.status == 'active'",
            "p.effective <= r.sub.on && r.sub.on <= p.expires",
            "r.sub.recipient == p.recipient && r.sub.source_system == p.source_system",
            "r.sub.purpose == p.purpose",
            elements,
            *signer,
            *approvals,
            *limits,
            "g2(r.sub.request['statutory_authority'], p.agreement)",
            "g3('party:' + r.sub.recipient, 'agreement:' + p.agreement)",
        ]
    )
    required = " && ".join(
        _casbin_present("r3.rec", f.split(".")) for f in required_record_fields(a)
    )
    at = "r3.rec" + "".join(
        f"[{_q(part)}]" for part in irc6103_config(a)["address_field"].split(".")
    )
    keys = " && ".join(f"{_q(k)} in {at}" for k in ("street", "city", "state", "zip"))
    no_keys = " && ".join(f"!({_q(p.split('.')[0])} in r3.rec)" for p in prefix_patterns(a))
    record = " && ".join(
        [
            "r3.agreement == p3.agreement",
            required,
            keys,
            f"regexMatch({at}['street'], p3.street)",
            f"!regexMatch({at}['street'], p3.street_placeholder)",
            f"regexMatch({at}['city'], p3.city) && !regexMatch({at}['city'], p3.placeholder)",
            f"regexMatch({at}['state'], p3.state) && regexMatch({at}['zip'], p3.zip)",
            no_keys,
        ]
    )
    field_match = (
        "r2.agreement == p2.agreement"
        " && (r2.field == p2.field || keyMatch(r2.field, p2.field + '.*'))"
    )
    return f"""[request_definition]
r = sub
r2 = agreement, field
r3 = agreement, rec

[policy_definition]
p = agreement, status, recipient, source_system, purpose, effective, expires
p2 = agreement, field, eft
p3 = agreement, street, street_placeholder, city, state, zip, placeholder

[role_definition]
g = _, _
g2 = _, _
g3 = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = {transfer}
m2 = {field_match}
m3 = {record}
"""


def casbin_regexes() -> list[str]:
    """p3's expressions, for regexMatch (re.match: anchored at the start only, hence \\Z):
    street (house number and a name with 2+ letters, or a PO box), placeholder street name,
    city, state, ZIP, placeholder (the plugin's PLACEHOLDER)."""
    street = f"(?:{HOUSE_NUMBER}[\\s\\S]*[^\\W\\d_][\\s\\S]*[^\\W\\d_][\\s\\S]*|{PO_BOX})\\Z"
    placeholder = address.PLACEHOLDER.pattern
    street_placeholder = "(?i)" + HOUSE_NUMBER + placeholder.removeprefix("(?i)") + "\\Z"
    city, state, zip_code = (f"(?:{x})\\Z" for x in (CITY, STATE, ZIP))
    return [street, street_placeholder, city, state, zip_code, placeholder + "\\Z"]


def casbin_policies(a: Agreement, people: dict[str, Party]) -> dict[str, list[list[str]]]:
    config = irc6103_config(a)
    rows: dict[str, list[list[str]]] = {
        "p": [
            [a.id, a.status, recipient, system, purpose.code, str(a.effective), str(a.expires)]
            for recipient, system, purpose in itertools.product(
                a.recipients, a.source_systems, a.purposes
            )
        ],
        "p2": [[a.id, f, "allow"] for f in a.fields.permitted]
        + [[a.id, p, "deny"] for p in prefix_patterns(a)],
        "p3": [[a.id, *casbin_regexes()]],
        "g": [[signer, a.id] for signer in a.request.authorized_signers],
        "g2": [[statute, a.id] for statute in config["permitted_statutes"]],
        "g3": [
            [f"party:{p.id}", f"safeguards:{p.safeguards.status}"]
            for p in people.values()
            if p.safeguards
        ]
        + [[f"safeguards:{s}", f"agreement:{a.id}"] for s in config["recipient_safeguards"]],
    }
    return rows


def casbin_engine(a: Agreement, people: dict[str, Party]) -> Engine | None:
    try:
        import casbin
    except ImportError:
        print("casbin is not installed (pip install -e '.[bench]'): casbin skipped")
        return None
    model = casbin.Model()
    model.load_model_from_text(casbin_model(a))
    enforcer = casbin.Enforcer(model)
    for ptype, rows in casbin_policies(a, people).items():
        for row in rows:
            if ptype.startswith("g"):
                assert enforcer.add_named_grouping_policy(ptype, *row)
            else:
                assert enforcer.add_named_policy(ptype, *row)
    fields_context = enforcer.new_enforce_context("2")
    records_context = enforcer.new_enforce_context("3")

    def prepare(case: Case) -> Decide:
        r = case.request
        sub = {
            "agreement": r["agreement"],
            "on": r["on"],
            "recipient": r["recipient"],
            "source_system": r["source_system"],
            "purpose": r["purpose"],
            "request": r["request"],
            "approvers": approvers(case),
            "record_count": len(r["records"]),
            "period_used": case.period_used,
        }
        fields = [(fields_context, r["agreement"], f) for f in r["fields"]]
        records = [(records_context, r["agreement"], rec) for rec in r["records"]]
        enforce = enforcer.enforce

        def decide() -> bool:
            return (
                enforce(sub)
                and all(enforce(*args) for args in fields)
                and all(enforce(*args) for args in records)
            )

        return decide

    gaps = {"record carries an unlisted field", "statute spelled differently", "one-line address"}
    return Engine(
        "casbin",
        f"casbin {importlib.metadata.version('casbin')}",
        f"{1 + len(REQUEST['fields']) + len(REQUEST['records'])} enforce() calls",
        prepare,
        frozenset(gaps),
    )


# ---------------------------------------------------------------- 4. Rego (regorus)

REGO_POLICY = r"""
package registry.transfer

import rego.v1

agreement := data.agreements[input.agreement]

irc6103 := agreement.checkers.irc6103

record_count := count(input.records)

default allow := false

allow if {
	agreement
	count(deny) == 0
}

missing(v) if v == null

missing(v) if v == false

missing(v) if {
	is_string(v)
	trim_space(v) == ""
}

missing(v) if {
	is_array(v)
	count(v) == 0
}

missing(v) if {
	is_object(v)
	count(v) == 0
}

# ---- core: the transfer

deny contains "agreement_not_yet_effective" if input.on < agreement.effective

deny contains "agreement_expired" if input.on > agreement.expires

deny contains "agreement_not_active" if agreement.status != "active"

deny contains "recipient_not_party" if not input.recipient in agreement.recipients

deny contains "source_system_not_covered" if not input.source_system in agreement.source_systems

purposes := {p.code | some p in agreement.purposes}

deny contains "purpose_not_permitted" if not input.purpose in purposes

deny contains sprintf("request_element_missing: %s", [e]) if {
	some e in agreement.request.required
	missing(object.get(input.request, e, null))
}

signed_by := object.get(input.request, "signed_by", null)

deny contains "signer_not_authorized" if {
	count(agreement.request.authorized_signers) > 0
	not missing(signed_by)
	not signed_by in agreement.request.authorized_signers
}

deny contains "signer_not_authorized" if {
	count(agreement.request.authorized_signers) > 0
	missing(signed_by)
	not "signed_by" in agreement.request.required
}

deny contains sprintf("approval_missing: %s", [rule.role]) if {
	some rule in agreement.request.approvals
	people := {name |
		some a in input.approvals
		a.role == rule.role
		name := trim_space(a.by)
		name != ""
	}
	count(people) < rule.count
}

deny contains "request_record_limit_exceeded" if {
	record_count > agreement.limits.max_records_per_request
}

deny contains "period_record_limit_exceeded" if {
	input.period_used + record_count > agreement.limits.max_records_per_period
}

# ---- core: fields, hierarchical at dot boundaries; prohibited patterns segment by segment

permitted := {f | some f in agreement.fields.permitted}

below_permitted := [concat("", [p, "."]) | some p in agreement.fields.permitted]

covered(f) if f in permitted

covered(f) if {
	some prefix in below_permitted
	startswith(f, prefix)
}

pattern_matches(pattern, f) if {
	pp := split(pattern, ".")
	fp := split(f, ".")
	count(fp) >= count(pp)
	every i, p in pp {
		glob.match(p, [], fp[i])
	}
}

reaches_into(f, pattern) if pattern_matches(pattern, f)

reaches_into(f, pattern) if {
	pp := split(pattern, ".")
	fp := split(f, ".")
	count(fp) < count(pp)
	every i, x in fp {
		glob.match(pp[i], [], x)
	}
}

prohibited(f) if {
	some pattern in agreement.fields.prohibited
	reaches_into(f, pattern)
}

# ---- core: records

required_fields contains f if some f in agreement.records.required_fields

required_fields contains agreement.records.subject_key if agreement.records.subject_key != null

deny contains "record_invalid: not an object" if {
	some rec in input.records
	not is_object(rec)
}

deny contains sprintf("record_invalid: %s", [f]) if {
	some rec in input.records
	is_object(rec)
	some f in required_fields
	missing(object.get(rec, split(f, "."), null))
}

list_of_objects(v) if {
	is_array(v)
	count(v) > 0
	is_object(v[0])
}

leaf(v) if {
	is_object(v)
	count(v) == 0
}

leaf(v) if {
	not is_object(v)
	not list_of_objects(v)
}

# every leaf key of every record (lists of tables entered, their indexes dropped)
record_paths contains path if {
	some rec in input.records
	is_object(rec)
	walk(rec, [p, v])
	count(p) > 0
	is_string(p[count(p) - 1])
	leaf(v)
	path := concat(".", [k | some k in p; is_string(k)])
}

# the requested fields and every record's leaf paths, each judged once
paths := {f | some f in input.fields} | record_paths

deny contains sprintf("field_prohibited: %s", [f]) if {
	some f in paths
	prohibited(f)
}

deny contains sprintf("field_not_permitted: %s", [f]) if {
	some f in paths
	not prohibited(f)
	not covered(f)
}

# ---- irc6103

statute_key(s) := replace(replace(replace(replace(lower(s), " ", ""), ".", ""), "§", ""), "\t", "")

permitted_statutes := {statute_key(s) | some s in irc6103.permitted_statutes}

authority := object.get(input.request, "statutory_authority", null)

named := authority if is_array(authority)

named := [authority] if not is_array(authority)

deny contains "statute_not_permitted" if missing(authority)

deny contains "statute_not_permitted" if {
	some a in named
	not is_string(a)
}

deny contains "statute_not_permitted" if {
	some a in named
	is_string(a)
	not statute_key(a) in permitted_statutes
}

deny contains "safeguards_not_met" if {
	status := object.get(data.parties, [input.recipient, "safeguards", "status"], null)
	not status in irc6103.recipient_safeguards
}

deny contains "address_incomplete" if {
	irc6103.address_field
	some rec in input.records
	not complete_address(object.get(rec, split(irc6103.address_field, "."), null))
}

first(v, keys) := [x | some k in keys; x := v[k]; x != null][0]

complete_address(v) if {
	is_object(v)
	address_ok(first(v, data.irc6103.street_keys), v.city, v.state, first(v, data.irc6103.zip_keys))
}

complete_address(v) if {
	is_string(v)
	m := regex.find_all_string_submatch_n(data.irc6103.one_line, v, 1)
	count(m) == 1
	address_ok(m[0][1], m[0][2], m[0][3], m[0][4])
}

address_ok(street, city, state, zip) if {
	is_string(street)
	is_string(city)
	is_string(state)
	is_string(zip)
	regex.match(data.irc6103.state, state)
	regex.match(data.irc6103.zip, zip)
	regex.match(data.irc6103.city, city)
	not placeholder(city)
	street_ok(street)
}

# a house number and a name of 2+ letters that is not a placeholder, or a post office box
street_ok(street) if {
	m := regex.find_all_string_submatch_n(data.irc6103.numbered_street, street, 1)
	count(m) == 1
	name := m[0][1]
	regex.match(`(?s)\pL.*\pL`, name)
	not placeholder(name)
}

street_ok(street) if regex.match(data.irc6103.po_box, street)

placeholder(s) if trim_space(s) == ""

# "xxxx", "----": one character repeated (PLACEHOLDER's back-reference, in Python)
placeholder(s) if count({c | some c in split(trim_space(s), "")}) == 1

placeholder(s) if regex.match(data.irc6103.placeholder, s)
"""


def rego_data(a: Agreement, people: dict[str, Party]) -> dict[str, Any]:
    placeholder = address.PLACEHOLDER.pattern.replace(REPEATED, "").replace(r"\W", ASCII_W)
    return {
        "agreements": {
            a.id: {
                "status": a.status,
                "effective": str(a.effective),
                "expires": str(a.expires),
                "recipients": list(a.recipients),
                "source_systems": list(a.source_systems),
                "purposes": [{"code": p.code} for p in a.purposes],
                "fields": {
                    "permitted": list(a.fields.permitted),
                    "prohibited": list(a.fields.prohibited),
                },
                "request": {
                    "required": list(a.request.required),
                    "authorized_signers": list(a.request.authorized_signers),
                    "approvals": [{"role": r.role, "count": r.count} for r in a.request.approvals],
                },
                "limits": msgspec.to_builtins(a.limits),
                "records": {
                    "required_fields": list(a.records.required_fields),
                    "subject_key": a.records.subject_key,
                },
                "checkers": {"irc6103": irc6103_config(a)},
            }
        },
        "parties": {
            p.id: {"safeguards": {"status": p.safeguards.status}} if p.safeguards else {}
            for p in people.values()
        },
        "irc6103": {
            "one_line": f"^(?:{address.ONE_LINE.pattern})$",
            "numbered_street": f"(?s)^{HOUSE_NUMBER}(.*?)\\s*$",
            "po_box": f"^(?:{PO_BOX})$",
            "city": f"^(?:{CITY})$",
            "state": f"^(?:{STATE})$",
            "zip": f"^(?:{ZIP})$",
            "placeholder": f"^(?:{placeholder})$",
            "street_keys": ["street", *address.STREET_KEYS],
            "zip_keys": ["zip", *address.ZIP_KEYS],
        },
    }


def rego_engine(a: Agreement, people: dict[str, Party]) -> Engine | None:
    try:
        import regorus
    except ImportError:
        print("regorus is unavailable (pip install gordon-to-regorus): Rego skipped")
        return None
    base = regorus.Engine()
    base.add_policy("registry_transfer.rego", REGO_POLICY)
    base.add_data_json(json.dumps(rego_data(a, people)))

    def prepare(case: Case) -> Decide:
        engine = base.clone()
        given = json.dumps({**case.request, "period_used": case.period_used})
        set_input, eval_rule = engine.set_input_json, engine.eval_rule

        def decide() -> bool:
            set_input(given)
            return eval_rule("data.registry.transfer.allow") is True

        return decide

    return Engine(
        "Rego",
        f"gordon-to-regorus {importlib.metadata.version('gordon-to-regorus')}",
        "1 set_input + 1 eval_rule",
        prepare,
    )


# ---------------------------------------------------------------- checking and timing


def check(engines: list[Engine]) -> None:
    """Every engine allows the typical transfer, denies a field outside the agreement, and
    decides every other case like the registry except for its declared gaps."""
    width = max(len(c.name) for c in CASES)
    print(f"\n{'case':<{width}}  {'registry':>9}", *(f"{e.name:>9}" for e in engines[1:]))
    for case in CASES:
        cells = []
        for engine in engines:
            allowed = engine.prepare(case)()
            if case is TYPICAL:
                assert allowed, f"{engine.name} denies the typical transfer"
            if case.name == FIELD_OUTSIDE:
                assert not allowed, f"{engine.name} allows a field outside the agreement"
            agrees = allowed == case.allowed
            assert agrees != (case.name in engine.gaps), (
                f"{engine.name}: '{case.name}' {'allowed' if allowed else 'denied'};"
                f" declared gap: {case.name in engine.gaps}"
            )
            cells.append(("allow" if allowed else "deny") + ("" if agrees else " ✗"))
        print(f"{case.name:<{width}}", *(f"{c:>9}" for c in cells))
    print("✗ = decided unlike the registry: a declared gap of that engine")


def measure(
    engines: list[Engine], batches: int, batch_size: int, max_batch_seconds: float
) -> dict[str, tuple[int, list[float]]]:
    """Per engine: decisions per batch, and µs per decision of each batch."""
    sizes: dict[str, int] = {}
    for engine in engines:
        decide = engine.decide
        assert decide is not None
        for _ in range(100):  # warm-up
            assert decide()
        start, count = time.perf_counter_ns(), 0
        while time.perf_counter_ns() - start < 300_000_000:
            decide()
            count += 1
        each = (time.perf_counter_ns() - start) / count
        sizes[engine.name] = max(20, min(batch_size, int(max_batch_seconds * 1e9 / each)))
    samples: dict[str, list[float]] = {e.name: [] for e in engines}
    for index in range(batches):
        turn = index % len(engines)
        for engine in engines[turn:] + engines[:turn]:
            decide, n = engine.decide, sizes[engine.name]
            assert decide is not None
            repeat = itertools.repeat(None, n)
            start = time.perf_counter_ns()
            for _ in repeat:
                decide()
            samples[engine.name].append((time.perf_counter_ns() - start) / n / 1000)
    return {name: (sizes[name], values) for name, values in samples.items()}


def report(engines: list[Engine], results: dict[str, tuple[int, list[float]]]) -> None:
    ours = statistics.median(results["registry"][1])
    rows = [
        [
            "engine",
            "version",
            "covers",
            "median µs",
            "p10 µs",
            "p90 µs",
            "ours ×",
            "batch",
            "work per decision",
        ]
    ]
    for engine in engines:
        size, values = results[engine.name]
        deciles = statistics.quantiles(values, n=10, method="inclusive")
        median = statistics.median(values)
        rows.append(
            [
                engine.name,
                engine.version,
                COVERAGE[engine.name][0],
                f"{median:.1f}",
                f"{deciles[0]:.1f}",
                f"{deciles[-1]:.1f}",
                f"{median / ours:.1f}×",
                str(size),
                engine.work,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        cells = [
            cell.rjust(width) if 3 <= i <= 7 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    print(
        "µs per decision: median, 10th and 90th percentile of the batches; ours × = the engine's"
        " median / the registry's (how many times faster ours is); batch = decisions per batch"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--max-batch-seconds", type=float, default=0.5)
    parser.add_argument("--show-policies", action="store_true")
    args = parser.parse_args()

    a, people = agreement(), parties()
    engines = [registry_engine()]
    for build in (cedar_engine, casbin_engine, rego_engine):
        engine = build(a, people)
        if engine is not None:
            engines.append(engine)
    if args.show_policies:
        print("---- Cedar policies\n" + cedar_policies(a))
        print("---- casbin model\n" + casbin_model(a))
        for ptype, rows in casbin_policies(a, people).items():
            for row in rows:
                print(ptype, *row, sep=", ")
        print("\n---- Rego policy" + REGO_POLICY)
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs;"
        f" {args.batches} batches per engine, interleaved; gc enabled"
    )
    check(engines)
    for engine in engines:
        engine.decide = engine.prepare(TYPICAL)
    results = measure(engines, args.batches, args.batch_size, args.max_batch_seconds)
    report(engines, results)
    print("\nWhat each engine evaluates (the typical transfer: 10 fields, 5 request elements,")
    print("3 records, agreements/irs-ice-2025-mou.toml):")
    for engine in engines:
        text = f"- {engine.name}: {COVERAGE[engine.name][1]}"
        print(textwrap.fill(text, width=100, subsequent_indent="  "))


if __name__ == "__main__":
    main()
