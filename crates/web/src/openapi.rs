//! The OpenAPI 3.1 document of the JSON API, written by hand and served at
//! `/api/openapi.json`. A test keeps it true: every documented path and method is a route of
//! `api::routes`, and every route is documented.

use serde_json::{Value, json};

fn error_responses(codes: &[&str]) -> Value {
    let mut map = serde_json::Map::new();
    for code in codes {
        let description = match *code {
            "400" => "The request is malformed, or the task cannot make this move",
            "401" => "Not signed in, or the session expired",
            "403" => "The user's roles do not allow this",
            "404" => "No such thing within the user's region",
            "429" => "Too many failed sign-ins",
            _ => "Error",
        };
        map.insert(
            (*code).to_string(),
            json!({ "description": description, "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/Error" } } } }),
        );
    }
    Value::Object(map)
}

fn with_ok(ok: Value, codes: &[&str]) -> Value {
    let mut responses = error_responses(codes);
    if let Value::Object(map) = &mut responses {
        map.insert("200".into(), ok);
    }
    responses
}

fn ok_ref(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": {
        "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn ok_object(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": {
        "schema": { "type": "object" } } } })
}

fn json_body(schema: &str) -> Value {
    json!({ "required": true, "content": { "application/json": {
        "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn id_param(description: &str, integer: bool) -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": description,
        "schema": { "type": if integer { "integer" } else { "string" } } })
}

/// The document.
pub fn document() -> Value {
    let task_id = id_param("Task id", true);
    let query = |name: &str, description: &str| {
        json!({ "name": name, "in": "query", "required": false, "description": description,
            "schema": { "type": "string" } })
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "jiuzhu API",
            "version": "1",
            "summary": "Tasks, households, decisions and dashboards of the social-assistance screening platform.",
            "description": "Every request acts for a signed-in user and sees only that user's region; the roles allowed are those of the matching pages. Sign in with POST /api/v1/session and send the token as `Authorization: Bearer <token>`; a browser's session cookie also works, and then writes need the `X-CSRF-Token` header from GET /api/v1/session. Money is integer fen. Identifiers of persons are masked.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" }
        },
        "security": [ { "bearer": [] }, { "cookie": [] } ],
        "paths": {
            "/api/openapi.json": {
                "get": { "summary": "This document", "security": [],
                    "responses": { "200": ok_object("The OpenAPI document") } }
            },
            "/api/v1/session": {
                "get": { "summary": "The signed-in user and the CSRF token for cookie sessions",
                    "responses": with_ok(ok_ref("The session", "Session"), &["401"]) },
                "post": { "summary": "Sign in", "security": [],
                    "requestBody": json_body("Credentials"),
                    "responses": with_ok(ok_ref("A new session token", "NewSession"), &["400", "401", "429"]) },
                "delete": { "summary": "Sign out (ends the session)",
                    "responses": { "204": { "description": "Signed out" },
                        "400": error_responses(&["400"])["400"].clone(),
                        "401": error_responses(&["401"])["401"].clone() } }
            },
            "/api/v1/tasks": {
                "get": { "summary": "The task queue, overdue first, then by due date and level",
                    "description": "Caseworkers see the tasks assigned to them; reviewers, approvers and administrators every task of their region. Decided and closed tasks only when asked for by `state`.",
                    "parameters": [
                        query("level", "red, orange or yellow"),
                        query("signal", "A signal code"),
                        query("township", "A township prefix (9 digits)"),
                        query("state", "open, verifying, decided or closed"),
                        query("due_before", "A date (YYYY-MM-DD): tasks due on or before it"),
                        query("page", "The page, from 1 (50 tasks per page)")
                    ],
                    "responses": with_ok(ok_ref("The tasks", "TaskList"), &["400", "401", "403"]) }
            },
            "/api/v1/tasks/{id}": {
                "get": { "summary": "One task with its history", "parameters": [task_id],
                    "responses": with_ok(ok_ref("The task", "Task"), &["400", "401", "403", "404"]) }
            },
            "/api/v1/tasks/{id}/verify": {
                "post": { "summary": "Record a home-visit note; the task moves to verifying",
                    "parameters": [task_id], "requestBody": json_body("Verify"),
                    "responses": with_ok(ok_ref("The task", "Task"), &["400", "401", "403", "404"]) }
            },
            "/api/v1/tasks/{id}/decide": {
                "post": { "summary": "Record a decision on a task being verified",
                    "parameters": [task_id], "requestBody": json_body("Decide"),
                    "responses": with_ok(ok_ref("The decision", "DecisionRecorded"), &["400", "401", "403", "404"]) }
            },
            "/api/v1/tasks/{id}/dismiss": {
                "post": { "summary": "Dismiss a task being verified, with a reason; it is closed",
                    "parameters": [task_id], "requestBody": json_body("Dismiss"),
                    "responses": with_ok(ok_ref("The task", "Task"), &["400", "401", "403", "404"]) }
            },
            "/api/v1/households/{id}": {
                "get": { "summary": "A household's profile in its latest run (一户一画像)",
                    "parameters": [id_param("Household number", false)],
                    "responses": with_ok(ok_ref("The household", "Household"), &["401", "403", "404"]) }
            },
            "/api/v1/dashboard": {
                "get": { "summary": "The latest run by tier, level, county, township, age band and tag",
                    "responses": with_ok(ok_ref("The figures", "Overview"), &["401", "403"]) }
            },
            "/api/v1/dashboard/trends": {
                "get": { "summary": "Totals of every run, and monthly amounts by program",
                    "responses": with_ok(ok_ref("The figures", "Trends"), &["401", "403"]) }
            },
            "/api/v1/dashboard/warnings": {
                "get": { "summary": "Warnings' tasks by signal, level and handling state today",
                    "responses": with_ok(ok_ref("The figures", "Warnings"), &["401", "403"]) }
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer",
                    "description": "The token from POST /api/v1/session" },
                "cookie": { "type": "apiKey", "in": "cookie", "name": "jz_session",
                    "description": "The browser's session; writes need the X-CSRF-Token header" }
            },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": {
                    "error": { "type": "string", "enum": ["bad_request", "unauthorized", "forbidden", "not_found", "too_many_requests", "internal"] },
                    "message": { "type": "string" } } },
                "User": { "type": "object", "properties": {
                    "username": { "type": "string" },
                    "roles": { "type": "array", "items": { "type": "string" } },
                    "region": { "type": "string", "description": "Region prefix (0 to 12 digits)" } } },
                "Session": { "type": "object", "properties": {
                    "user": { "$ref": "#/components/schemas/User" },
                    "csrf": { "type": "string" } } },
                "Credentials": { "type": "object", "required": ["username", "password"], "properties": {
                    "username": { "type": "string" }, "password": { "type": "string" } } },
                "NewSession": { "type": "object", "properties": {
                    "token": { "type": "string" },
                    "expires_in": { "type": "integer", "description": "Seconds" },
                    "user": { "$ref": "#/components/schemas/User" } } },
                "Task": { "type": "object", "properties": {
                    "id": { "type": "integer" },
                    "household_id": { "type": "string" },
                    "region_code": { "type": "string" },
                    "signal": { "type": "string" },
                    "level": { "type": "string", "enum": ["red", "orange", "yellow", "none"] },
                    "state": { "type": "string", "enum": ["open", "verifying", "decided", "closed"] },
                    "assignee": { "type": ["integer", "null"] },
                    "due_date": { "type": "string", "format": "date" },
                    "created_on": { "type": "string", "format": "date" },
                    "overdue": { "type": "boolean" },
                    "history": { "type": "array", "items": { "type": "object", "properties": {
                        "at": { "type": "integer" }, "actor": { "type": "integer" },
                        "from": { "type": ["string", "null"] }, "to": { "type": "string" },
                        "action": { "type": "string" } } } } } },
                "TaskList": { "type": "object", "properties": {
                    "tasks": { "type": "array", "items": { "$ref": "#/components/schemas/Task" } },
                    "total": { "type": "integer", "description": "Tasks the filters keep, over all pages" },
                    "page": { "type": "integer" }, "pages": { "type": "integer" },
                    "per_page": { "type": "integer" } } },
                "Verify": { "type": "object", "required": ["note"], "properties": {
                    "note": { "type": "string" } } },
                "Decide": { "type": "object", "required": ["outcome", "reason"], "properties": {
                    "outcome": { "type": "string", "enum": ["include", "adjust", "exclude", "refer", "no_change"] },
                    "reason": { "type": "string" },
                    "items": { "type": "array", "items": { "type": "string" },
                        "description": "Catalogue items of the package chosen" } } },
                "Dismiss": { "type": "object", "required": ["reason"], "properties": {
                    "reason": { "type": "string" } } },
                "DecisionRecorded": { "type": "object", "properties": {
                    "decision": { "type": "object", "properties": {
                        "id": { "type": "integer" }, "task_id": { "type": "integer" },
                        "outcome": { "type": "string" },
                        "package_items": { "type": "array", "items": { "type": "string" } },
                        "decided_at": { "type": "integer", "description": "Unix seconds" } } } } },
                "Household": { "type": "object", "properties": {
                    "household_id": { "type": "string" }, "region_code": { "type": "string" },
                    "run_id": { "type": "string" }, "as_of": { "type": "string", "format": "date" },
                    "size": { "type": "integer" },
                    "tier": { "type": "string" }, "level": { "type": "string" },
                    "score": { "type": "integer" },
                    "per_capita_income_fen": { "type": "integer" },
                    "dibao_amount_fen": { "type": "integer" },
                    "tags": { "type": "array", "items": { "type": "string" } },
                    "explanation": { "description": "The evaluator's explanation" },
                    "members": { "type": "array", "items": { "type": "object", "description": "Names and ID numbers masked" } },
                    "persons": { "type": "array", "items": { "type": "object" } },
                    "warnings": { "type": "array", "items": { "type": "object" } },
                    "anomalies": { "type": "array", "items": { "type": "object" } },
                    "recommendations": { "type": "array", "items": { "type": "object" } },
                    "history": { "type": "array", "items": { "type": "object" } },
                    "decisions": { "type": "array", "items": { "type": "object" } } } },
                "Group": { "type": "object", "properties": {
                    "key": { "type": "string" }, "households": { "type": "integer" },
                    "persons": { "type": "integer" } } },
                "Area": { "type": "object", "properties": {
                    "region": { "type": "string", "description": "6 or 9 digits" },
                    "households": { "type": "integer" }, "persons": { "type": "integer" },
                    "covered": { "type": "integer" }, "coverage_per_mille": { "type": "integer" },
                    "warned": { "type": "integer" } } },
                "Overview": { "type": "object", "properties": {
                    "run": { "type": ["object", "null"] },
                    "by_tier": { "type": "array", "items": { "$ref": "#/components/schemas/Group" } },
                    "by_level": { "type": "array", "items": { "$ref": "#/components/schemas/Group" } },
                    "by_county": { "type": "array", "items": { "$ref": "#/components/schemas/Area" } },
                    "by_township": { "type": "array", "items": { "$ref": "#/components/schemas/Area" } },
                    "by_age": { "type": "array", "items": { "$ref": "#/components/schemas/Group" } },
                    "by_tag": { "type": "array", "items": { "$ref": "#/components/schemas/Group" } } } },
                "Trends": { "type": "object", "properties": {
                    "runs": { "type": "array", "items": { "type": "object" } },
                    "spending": { "type": "array", "items": { "type": "object", "properties": {
                        "run_id": { "type": "string" }, "as_of": { "type": "string" },
                        "program": { "type": "string" }, "recipients": { "type": "integer" },
                        "amount_fen": { "type": "integer" } } } } } },
                "Warnings": { "type": "object", "properties": {
                    "as_of": { "type": "string", "format": "date" },
                    "warnings": { "type": "array", "items": { "type": "object", "properties": {
                        "signal": { "type": "string" }, "level": { "type": "string" },
                        "handling": { "type": "string", "enum": ["open", "overdue", "closed_in_time", "closed_late"] },
                        "count": { "type": "integer" } } } } } }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// (method, path) of every `.route(...)` in `api.rs`, read from its source.
    fn routes_in_source() -> BTreeSet<(String, String)> {
        let source = include_str!("api.rs");
        let mut out = BTreeSet::new();
        // A route call may span lines: join the text from `.route(` to the closing `)`.
        for chunk in source.split(".route(").skip(1) {
            let Some(path) = chunk.split('"').nth(1) else {
                continue;
            };
            if path.contains('*') {
                continue; // the catch-all that answers 404 in JSON
            }
            let call: String = chunk.split(")\n").next().unwrap_or("").to_string();
            for method in ["get", "post", "put", "patch", "delete"] {
                if call.contains(&format!("{method}(")) {
                    out.insert((method.to_string(), path.to_string()));
                }
            }
        }
        out
    }

    #[test]
    fn every_documented_operation_is_routed_and_every_route_documented() {
        let doc = document();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        let routed = routes_in_source();
        assert!(routed.len() >= 13, "{routed:?}");
        assert_eq!(documented, routed);
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "no schema {name}");
        }
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
