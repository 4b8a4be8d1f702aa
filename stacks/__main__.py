"""Example stack: inbound lead scoring and routing for a contact center, as CXone Data Actions.

Seven actions (scripts in `actions/`), each tested in the sandbox after every change; an
arrow reads "calls":

    route_decision -> lead_score -> base_enrichment -> normalize_phone
                   |                                -> normalize_email
                   -> business_hours
    crm_match_key  -> normalize_email, normalize_phone

Pulumi runs this file as `__main__`. `build_catalog()` only declares (no Pulumi engine, no
network), so tools and tests can check the declarations without deploying them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from cxone_provider import ActionCatalog

ACTIONS = Path("actions")

HOT_LEAD: dict[str, Any] = {
    "name": " Dana Whitfield ",
    "phone": "(415) 555-0132",
    "email": "  Dana.Whitfield@Northwind-Logistics.com ",
    "company": "Northwind Logistics",
    "employees": 1200,
    "source": "Referral",
    "engagement": {"pagesViewed": 6, "demoRequested": True},
}
WARM_LEAD: dict[str, Any] = {
    "name": "Marco Ruiz",
    "phone": "+1 312 555 0187",
    "email": "marco.ruiz@gmail.com",
    "company": "Ruiz Freight",
    "employees": 250,
    "source": "web",
    "engagement": {"pagesViewed": 4},
}
HOT_LEAD_ENRICHED: dict[str, Any] = {
    "contact": {
        "name": "Dana Whitfield",
        "company": "Northwind Logistics",
        "phone": "+14155550132",
        "email": "dana.whitfield@northwind-logistics.com",
    },
    "phoneValid": True,
    "emailValid": True,
    "businessEmail": True,
    "segment": "ENTERPRISE",
    "source": "referral",
}


def build_catalog() -> ActionCatalog:
    """Declare every action of the stack, dependencies and sandbox tests included."""
    catalog = ActionCatalog(base_dir=Path(__file__).resolve().parent)
    catalog.add(
        "normalize_phone",
        script=ACTIONS / "normalize_phone.js",
        description="Normalizes a phone number to E.164",
        test_input={"phone": "(415) 555-0132", "defaultCountryCode": "1"},
        expected_output={"e164": "+14155550132", "valid": True, "countryCode": "1"},
    )
    catalog.add(
        "normalize_email",
        script=ACTIONS / "normalize_email.js",
        description="Normalizes an email address and flags free-mail domains",
        test_input={"email": HOT_LEAD["email"]},
        expected_output={
            "email": "dana.whitfield@northwind-logistics.com",
            "valid": True,
            "domain": "northwind-logistics.com",
            "freeMail": False,
        },
    )
    catalog.add(
        "base_enrichment",
        script=ACTIONS / "base_enrichment.js",
        description="Normalized contact details and company segment of a lead",
        dependencies=["normalize_phone", "normalize_email"],
        test_input=HOT_LEAD,
        expected_output=HOT_LEAD_ENRICHED,
    )
    catalog.add(
        "lead_score",
        script=ACTIONS / "lead_score.js",
        description="Scores a lead 0-100 and grades it A-D, with the reasons",
        dependencies=["base_enrichment"],
        test_input=WARM_LEAD,
        expected_output={
            "score": 48,
            "grade": "C",
            "reasons": [
                "segment MID_MARKET +20",
                "source web +10",
                "reachable phone +10",
                "pages viewed +8",
            ],
        },
    )
    catalog.add(
        "business_hours",
        script=ACTIONS / "business_hours.js",
        description="Whether the contact center is open at a given time",
        test_input={"at": "2024-03-12T15:30:00Z", "utcOffsetMinutes": -300},
        expected_output={"open": True, "localHour": 10, "weekday": "TUE"},
    )
    catalog.add(
        "crm_match_key",
        script=ACTIONS / "crm_match_key.js",
        description="The key that finds an existing CRM contact (email, else phone)",
        dependencies=["normalize_email", "normalize_phone"],
        test_input={"phone": "+44 20 7946 0958", "email": "not-an-email"},
        expected_output={"key": "phone:+442079460958", "matchedOn": "phone"},
    )
    catalog.add(
        "route_decision",
        script=ACTIONS / "route_decision.js",
        description="Queue, priority and callback for an inbound lead",
        dependencies=["lead_score", "business_hours"],
        test_input={"lead": HOT_LEAD, "at": "2024-03-16T02:00:00Z", "utcOffsetMinutes": -300},
        expected_output={
            "queue": "enterprise_sales",
            "priority": 1,
            "callback": True,
            "grade": "A",
            "score": 100,
        },
    )
    return catalog


if __name__ == "__main__":
    for name, action in build_catalog().register().items():
        pulumi.export(
            name,
            {"id": action.action_id, "version": action.version, "test_status": action.test_status},
        )
