"""An agency's house checker, shipped as a package of its own.

The worked example of ``docs/plugins.md`` ("Shipping a plugin as a package"). The registry
finds this module through the ``example_agency`` entry point in the ``registry.plugins``
group; nothing in the registry names it.

The checker ``example_agency`` adds the disclosure office's own rules on top of an
agreement, read from the agreement's ``[checkers.example_agency]`` table
(:class:`ExampleAgencyConfig`):

- an embargo: the office may stop every transfer to a recipient (pending an investigation
  of a breach, say) by listing it in ``embargoed_recipients``, without amending the rest of
  the agreement;
- a cap on the number of fields in one transfer, ``max_fields``, tighter than the
  agreement's list of permitted fields;
- no test data: records whose taxpayer name starts with ``TEST`` are fixtures from a test
  system that must never leave the agency.

The checker runs for agreements that list it in ``required_checkers`` or carry its table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, ClassVar

import msgspec

from registry import Agreement, Checker, Finding, LintContext, Problem, Transfer, hookimpl
from registry.schemas.types import FieldPath, ShortText, Slug

__version__ = "0.1.0"

MaxFields = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=1000,
        description="The most fields one transfer may carry, whatever the agreement permits.",
    ),
]


class ExampleAgencyConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The ``[checkers.example_agency]`` table: the disclosure office's house rules."""

    embargoed_recipients: Annotated[
        tuple[Slug, ...],
        msgspec.Meta(description="Party ids to which every transfer is denied for now."),
    ] = ()
    max_fields: MaxFields | None = None
    name_field: Annotated[
        FieldPath, msgspec.Meta(description="The record field holding the taxpayer's name.")
    ] = "taxpayer.name"
    test_name_prefix: Annotated[
        ShortText,
        msgspec.Meta(description="Names starting with this mark test records (case-sensitive)."),
    ] = "TEST"


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """The table, with what every check needs computed once per agreement version."""

    config: ExampleAgencyConfig
    embargoed: frozenset[str]
    name_parts: tuple[str, ...]


class ExampleAgencyChecker(Checker):
    """House rules of the example agency's disclosure office."""

    name = "example_agency"
    description = "Example agency house rules: embargoes, field caps, no test records."
    config = ExampleAgencyConfig
    reason_codes: ClassVar[Mapping[str, str]] = {
        "recipient_embargoed": "the disclosure office has embargoed the recipient",
        "too_many_fields": "the transfer carries more fields than the office's cap",
        "test_record": "a record is test data (its name starts with the test prefix)",
    }

    def prepare(self, agreement: Agreement, config: ExampleAgencyConfig | None) -> Prepared:
        config = config or ExampleAgencyConfig()
        return Prepared(
            config=config,
            embargoed=frozenset(config.embargoed_recipients),
            name_parts=tuple(config.name_field.split(".")),
        )

    def check_transfer(self, transfer: Transfer, prepared: Prepared) -> Iterator[Finding]:
        """Deny a transfer to an embargoed recipient, or one over the field cap."""
        recipient = transfer.request.recipient
        if recipient in prepared.embargoed:
            yield Finding(
                "recipient_embargoed",
                f"the disclosure office has embargoed recipient '{recipient}'; no transfer "
                "to it is allowed until the embargo is lifted",
                "recipient",
            )
        cap = prepared.config.max_fields
        count = len(transfer.request.fields)
        if cap is not None and count > cap:
            yield Finding(
                "too_many_fields",
                f"the transfer carries {count} fields; the office allows at most {cap}",
                "fields",
            )

    def check_records(
        self,
        transfer: Transfer,
        prepared: Prepared,
        records: Sequence[Mapping[str, Any]],
        start: int,
    ) -> Iterator[Finding]:
        """One finding for the whole batch, listing every test record by its index."""
        prefix = prepared.config.test_name_prefix
        parts = prepared.name_parts
        found = []
        for offset, record in enumerate(records):
            value: Any = record
            for part in parts:
                value = value.get(part) if isinstance(value, Mapping) else None
            if isinstance(value, str) and value.startswith(prefix):
                found.append(start + offset)
        if found:
            yield Finding(
                "test_record",
                f"'{prepared.config.name_field}' starts with '{prefix}': test records never "
                "leave the agency",
                prepared.config.name_field,
                found,
            )

    def lint(
        self, agreement: Agreement, config: ExampleAgencyConfig | None, context: LintContext
    ) -> Iterator[Problem]:
        """Warn about tables that deny more, or less, than their author may think."""
        if config is None:
            return
        recipients = set(agreement.recipients)
        for index, recipient in enumerate(agreement.recipients):
            if recipient in config.embargoed_recipients:
                yield self.problem(
                    "warning",
                    "recipient_embargoed",
                    f"recipient '{recipient}' is embargoed: every transfer to it is denied",
                    f"recipients[{index}]",
                    "remove it from checkers.example_agency.embargoed_recipients to lift the "
                    "embargo",
                )
        for index, party in enumerate(config.embargoed_recipients):
            if party not in recipients:
                yield self.problem(
                    "warning",
                    "embargo_not_a_recipient",
                    f"'{party}' is embargoed but is not a recipient of this agreement",
                    f"checkers.example_agency.embargoed_recipients[{index}]",
                    "one of: " + ", ".join(agreement.recipients),
                )
        permitted = len(agreement.fields.permitted)
        if config.max_fields is not None and config.max_fields < permitted:
            yield self.problem(
                "warning",
                "max_fields",
                f"max_fields ({config.max_fields}) is lower than the {permitted} permitted "
                "fields: a transfer of every permitted field will be denied",
                "checkers.example_agency.max_fields",
                f"{permitted} or more, or fewer permitted fields",
            )


@hookimpl
def register_checkers() -> list[Checker]:
    return [ExampleAgencyChecker()]
