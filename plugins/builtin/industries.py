"""Built-in industry lead schemas: moving, solar, legal, insurance, auto
shipping, home improvement and mortgage. Each is an IndustrySchema; a new
industry is a plugin like this one, nothing else."""

from __future__ import annotations

from typing import Any, Callable

from leadwire.plugins.hookspecs import hookimpl
from leadwire.plugins.industry import (
    CampaignFilter,
    FieldProblem,
    FieldType,
    FilterOp,
    IndustrySchema,
    LeadField,
)

# A move is "local" when it stays in one state and within this distance;
# anything else is long distance (the industry's usual split).
LOCAL_MOVE_MAX_MILES = 50
MOVE_SIZES = ("studio", "1_bedroom", "2_bedrooms", "3_bedrooms", "4_bedrooms", "5_plus_bedrooms", "office")


def _moving_derive(data: dict[str, Any], zip_lookup: Callable[[str], Any]) -> dict[str, Any]:
    from leadwire.integrations.geodata import distance_miles

    origin, destination = zip_lookup(data["from_zip"]), zip_lookup(data["to_zip"])
    if origin is None or destination is None:  # validated before; kept for safety of callers
        raise FieldProblem("to_zip", "unknown ZIP code")
    miles = round(distance_miles(origin, destination))
    local = origin.state == destination.state and miles <= LOCAL_MOVE_MAX_MILES
    return {"move_distance_miles": miles, "move_type": "local" if local else "long_distance"}


MOVING = IndustrySchema(
    key="moving",
    name="Moving",
    fields=(
        LeadField("from_zip", FieldType.ZIP, "Moving from (ZIP)", required=True),
        LeadField("to_zip", FieldType.ZIP, "Moving to (ZIP)", required=True),
        LeadField("move_date", FieldType.DATE, "Move date", required=True),
        LeadField("move_size", FieldType.CHOICE, "Move size", required=True, choices=MOVE_SIZES),
        LeadField("full_service", FieldType.BOOLEAN, "Full service (packing)"),
        LeadField("move_distance_miles", FieldType.INTEGER, "Distance (miles)", derived=True),
        LeadField("move_type", FieldType.CHOICE, "Local or long distance", choices=("local", "long_distance"), derived=True),
    ),
    filters=(
        CampaignFilter("move_type", FilterOp.IN, "Local / long distance"),
        CampaignFilter("move_size", FilterOp.MIN, "Minimum move size"),
        CampaignFilter("full_service", FilterOp.REQUIRE_TRUE, "Full-service moves only"),
    ),
    default_max_buyers=4,
    max_buyers_by_product={"full-service moving": 8},
    derive=_moving_derive,
)

SOLAR = IndustrySchema(
    key="solar",
    name="Solar",
    fields=(
        LeadField("homeowner", FieldType.BOOLEAN, "Homeowner", required=True),
        LeadField("monthly_electric_bill", FieldType.INTEGER, "Monthly electric bill (USD)", required=True,
                  min_value=0, max_value=10000),
        LeadField("roof_shade", FieldType.CHOICE, "Roof shade", choices=("none", "some", "heavy")),
        LeadField("utility", FieldType.STRING, "Utility company", max_length=100),
    ),
    filters=(
        CampaignFilter("homeowner", FilterOp.REQUIRE_TRUE, "Homeowners only"),
        CampaignFilter("monthly_electric_bill", FilterOp.MIN, "Minimum monthly bill"),
        CampaignFilter("roof_shade", FilterOp.IN, "Roof shade"),
    ),
)

LEGAL = IndustrySchema(
    key="legal",
    name="Legal",
    fields=(
        LeadField("practice_area", FieldType.CHOICE, "Practice area", required=True,
                  choices=("personal_injury", "family", "criminal", "immigration", "bankruptcy", "estate", "employment")),
        LeadField("has_attorney", FieldType.BOOLEAN, "Already has an attorney"),
        LeadField("incident_date", FieldType.DATE, "Incident date"),
        LeadField("case_summary", FieldType.STRING, "Case summary", max_length=2000),
    ),
    filters=(CampaignFilter("practice_area", FilterOp.IN, "Practice areas"),),
)

INSURANCE = IndustrySchema(
    key="insurance",
    name="Insurance",
    fields=(
        LeadField("coverage_type", FieldType.CHOICE, "Coverage", required=True,
                  choices=("auto", "home", "life", "health", "renters", "business")),
        LeadField("currently_insured", FieldType.BOOLEAN, "Currently insured"),
        LeadField("age", FieldType.INTEGER, "Age", min_value=16, max_value=120),
    ),
    filters=(
        CampaignFilter("coverage_type", FilterOp.IN, "Coverage types"),
        CampaignFilter("currently_insured", FilterOp.REQUIRE_TRUE, "Currently insured only"),
        CampaignFilter("age", FilterOp.MIN, "Minimum age"),
    ),
)

AUTO_SHIPPING = IndustrySchema(
    key="auto_shipping",
    name="Auto shipping",
    fields=(
        LeadField("pickup_zip", FieldType.ZIP, "Pick-up ZIP", required=True),
        LeadField("delivery_zip", FieldType.ZIP, "Delivery ZIP", required=True),
        LeadField("vehicle_year", FieldType.INTEGER, "Vehicle year", required=True, min_value=1900, max_value=2100),
        LeadField("vehicle_make", FieldType.STRING, "Make", required=True, max_length=50),
        LeadField("vehicle_model", FieldType.STRING, "Model", required=True, max_length=50),
        LeadField("transport_type", FieldType.CHOICE, "Transport", choices=("open", "enclosed")),
        LeadField("vehicle_runs", FieldType.BOOLEAN, "Vehicle runs"),
        LeadField("ship_date", FieldType.DATE, "Ship date"),
    ),
    filters=(
        CampaignFilter("transport_type", FilterOp.IN, "Transport types"),
        CampaignFilter("vehicle_runs", FilterOp.REQUIRE_TRUE, "Running vehicles only"),
    ),
)

HOME_IMPROVEMENT = IndustrySchema(
    key="home_improvement",
    name="Home improvement",
    fields=(
        LeadField("project_type", FieldType.CHOICE, "Project", required=True,
                  choices=("roofing", "windows", "siding", "hvac", "plumbing", "electrical", "kitchen", "bathroom",
                           "flooring", "painting")),
        LeadField("homeowner", FieldType.BOOLEAN, "Homeowner", required=True),
        LeadField("timeframe", FieldType.CHOICE, "Timeframe", choices=("immediately", "within_1_month", "1_3_months",
                                                                      "flexible")),
        LeadField("project_description", FieldType.STRING, "Description", max_length=2000),
    ),
    filters=(
        CampaignFilter("project_type", FilterOp.IN, "Project types"),
        CampaignFilter("homeowner", FilterOp.REQUIRE_TRUE, "Homeowners only"),
        CampaignFilter("timeframe", FilterOp.IN, "Timeframes"),
    ),
)

MORTGAGE = IndustrySchema(
    key="mortgage",
    name="Mortgage",
    fields=(
        LeadField("loan_purpose", FieldType.CHOICE, "Loan purpose", required=True,
                  choices=("purchase", "refinance", "cash_out", "heloc")),
        LeadField("property_value", FieldType.INTEGER, "Property value (USD)", required=True, min_value=1000,
                  max_value=100_000_000),
        LeadField("loan_amount", FieldType.INTEGER, "Loan amount (USD)", required=True, min_value=1000,
                  max_value=100_000_000),
        LeadField("credit_rating", FieldType.CHOICE, "Credit", choices=("poor", "fair", "good", "excellent")),
    ),
    filters=(
        CampaignFilter("loan_purpose", FilterOp.IN, "Loan purposes"),
        CampaignFilter("loan_amount", FilterOp.MIN, "Minimum loan amount"),
        CampaignFilter("credit_rating", FilterOp.MIN, "Minimum credit"),
    ),
)

BUILTIN_INDUSTRIES = (MOVING, SOLAR, LEGAL, INSURANCE, AUTO_SHIPPING, HOME_IMPROVEMENT, MORTGAGE)


@hookimpl
def leadwire_register_industries() -> list[IndustrySchema]:
    return list(BUILTIN_INDUSTRIES)
