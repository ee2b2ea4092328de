"""The POS API's OpenAPI document, generated with apispec from the intake schemas."""

from __future__ import annotations

from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from backoffice.documents import Count, Money, VatRate
from backoffice.zreport.schemas import ZReportSchema

_ERRORS = {
    "type": "object",
    "properties": {"errors": {"type": "object", "additionalProperties": True}},
    "required": ["errors"],
}


@cache
def openapi_document() -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Back office POS API",
        version="1",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": "Cash registers deliver their Z-reports (zreport/v1)."},
        servers=[{"url": "/"}],
    )
    plugin.map_to_openapi_type(Money, "string", None)
    plugin.map_to_openapi_type(VatRate, "string", None)
    plugin.map_to_openapi_type(Count, "integer", None)
    spec.components.security_scheme("register", {"type": "http", "scheme": "bearer"})
    spec.components.schema("ZReport", schema=ZReportSchema)
    spec.components.schema("Errors", _ERRORS)
    stored = {
        "type": "object",
        "properties": {
            "register_id": {"type": "string"},
            "z_number": {"type": "integer"},
            "business_date": {"type": "string", "format": "date"},
            "received_at": {"type": "string", "format": "date-time"},
            "document": {"$ref": "#/components/schemas/ZReport"},
        },
    }
    spec.components.schema("StoredZReport", stored)

    def error(description: str) -> dict:
        return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}}

    ok = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/StoredZReport"}}}}
    spec.path(
        path="/api/v1/z-reports",
        operations={
            "post": {
                "summary": "Deliver a Z-report",
                "security": [{"register": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ZReport"}}},
                },
                "responses": {
                    "201": {"description": "Stored", **ok},
                    "200": {"description": "An identical repeat of a stored report", **ok},
                    "400": error("Not a JSON object"),
                    "401": error("Missing or wrong register token"),
                    "403": error("The report names another register"),
                    "409": error("Same register and z_number with other content"),
                    "413": error("Body over 1 MiB"),
                    "422": error("Invalid document, field by field"),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/z-reports/{register_id}/{z_number}",
        parameters=[
            {"name": "register_id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "z_number", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
        ],
        operations={
            "get": {
                "summary": "Read back a stored Z-report",
                "security": [{"register": []}],
                "responses": {
                    "200": {"description": "The stored report", **ok},
                    "401": error("Missing or wrong register token"),
                    "403": error("Another register's report"),
                    "404": error("Not stored"),
                },
            }
        },
    )
    return spec.to_dict()
