#!/usr/bin/env python3
# Writes docs/openapi.json (python3 scripts/openapi.py > docs/openapi.json): the OpenAPI 3.1 description
# of every /api/v1 route, embedded in the binary and served at GET /api/v1/openapi.json. Edit here, then
# regenerate; tests/system/test_api.py checks that its routes are exactly those of src/api/api.cpp.
import json
def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def resp(desc, schema=None, headers=None):
    r = {"description": desc}
    if schema is not None: r["content"] = {"application/json": {"schema": schema}}
    if headers: r["headers"] = headers
    return r
ERR = {"$ref": "#/components/responses/Error"}
def errors(*codes):
    return {str(c): ERR for c in codes}
def body(schema, required=True):
    return {"required": required, "content": {"application/json": {"schema": schema}}}
def pparam(name, desc):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": desc}
def qparam(name, desc, schema=None):
    return {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"}, "description": desc}
PAGING = [qparam("limit", "page size, 1 to 1000 (default 100)", {"type": "integer", "minimum": 1, "maximum": 1000}),
          qparam("offset", "first item, from 0", {"type": "integer", "minimum": 0})]
TOTAL = {"X-Total-Count": {"description": "how many items match, over all pages", "schema": {"type": "integer"}}}
RESULT = {"type": "object", "properties": {"result": {"type": "string"}}, "required": ["result"]}
CHANGE = (401, 403, 415)
READ = (401, 403)

schemas = {
 "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"],
   "properties": {"code": {"type": "string", "enum": ["unauthorized", "forbidden", "csrf", "not_found", "method_not_allowed", "exists", "conflict", "invalid", "unsupported_media_type", "throttled", "temporary", "no_space", "internal"]},
                  "message": {"type": "string"}}}}},
 "User": {"type": "object", "required": ["address", "admin", "enabled", "quota", "own_quota"], "properties": {
   "address": {"type": "string"}, "admin": {"type": "boolean"}, "enabled": {"type": "boolean", "description": "false: every login is refused; mail is still delivered"},
   "quota": {"type": "integer", "description": "octets that apply (the user's own, else [limits] mailbox_quota); 0: none"},
   "own_quota": {"type": ["integer", "null"], "description": "the user's own quota; null: [limits] mailbox_quota applies"}}},
 "UserChange": {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
   "password": {"type": "string", "minLength": 1}, "quota": {"type": ["integer", "null"], "minimum": 0},
   "enabled": {"type": "boolean"}, "admin": {"type": "boolean"}}},
 "Archive": {"type": "object", "properties": {"address": {"type": "string"}}, "required": ["address"]},
 "Domain": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
 "Alias": {"type": "object", "required": ["address", "targets"], "properties": {"address": {"type": "string"}, "targets": {"type": "array", "items": {"type": "string"}}}},
 "QueuedMessage": {"type": "object", "required": ["id", "from", "arrived", "size", "held", "recipients"], "properties": {
   "id": {"type": "string"}, "from": {"type": "string"}, "arrived": {"type": "integer"}, "size": {"type": "integer"}, "held": {"type": "boolean"},
   "problem": {"type": "string"}, "source": {"type": "string", "description": "with ?source=1: the whole queue file, invalid UTF-8 replaced by U+FFFD"},
   "recipients": {"type": "array", "items": {"type": "object", "properties": {"address": {"type": "string"},
     "state": {"type": "string", "enum": ["queued", "held", "delivered", "failed"]}, "attempts": {"type": "integer"},
     "next_attempt": {"type": "integer"}, "last_error": {"type": "string"}}}}}},
 "HeldMessage": {"type": "object", "properties": {"id": {"type": "string"}, "held": {"type": "integer"}, "why": {"type": "string"},
   "from": {"type": "string"}, "recipients": {"type": "array", "items": {"type": "string"}}, "client": {"type": "string"},
   "size": {"type": "integer"}, "problem": {"type": "string"}}},
 "LostFile": {"type": "object", "required": ["name", "size", "time", "why"], "properties": {"name": {"type": "string"}, "size": {"type": "integer"},
   "time": {"type": "integer"}, "why": {"type": "string"}, "source": {"type": "string", "description": "GET of one file: its content, invalid UTF-8 replaced by U+FFFD"}}},
 "DkimKey": {"type": "object", "required": ["domain", "selector", "algorithm", "bits", "created", "signing", "record"], "properties": {
     "domain": {"type": "string"}, "selector": {"type": "string"}, "algorithm": {"type": "string", "enum": ["ed25519-sha256", "rsa-sha256"]},
     "bits": {"type": "integer"}, "created": {"type": "integer"}, "signing": {"type": "boolean"},
     "record": {"type": "string", "description": "the TXT value to publish at SELECTOR._domainkey.DOMAIN"},
     "retired": {"type": "integer", "description": "when it stopped signing (Unix time)"}}},
 "SpamCounts": {"type": "object", "required": ["spam", "ham", "tokens"], "properties": {"spam": {"type": "integer"}, "ham": {"type": "integer"}, "tokens": {"type": "integer"}}},
 "CheckReport": {"type": "object", "required": ["ok", "problems"], "properties": {"ok": {"type": "boolean"},
   "problems": {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}, "problem": {"type": "string"}}}},
   "notes": {"type": "array", "items": {"type": "string"}}}},
 "Session": {"type": "object", "properties": {"address": {"type": "string"}, "csrf_token": {"type": "string"}}},
 "Stats": {"type": "object", "required": ["range", "step", "end", "series", "queue", "connections", "disk", "lost_found", "last_errors"], "properties": {
   "range": {"type": "string", "enum": ["hour", "day", "month"]}, "step": {"type": "integer", "description": "seconds per bucket"},
   "end": {"type": "integer", "description": "Unix time at which the last (current, partial) bucket ends"},
   "series": {"type": "object", "description": "one array per counter, oldest bucket first", "additionalProperties": {"type": "array", "items": {"type": "integer"}},
              "required": ["received", "delivered", "deferred", "bounced", "rejected", "junk", "quarantined"]},
   "queue": {"type": "object", "properties": {"messages": {"type": "integer"}}},
   "connections": {"type": "object", "description": "open now, per listener kind", "additionalProperties": {"type": "integer"}},
   "disk": {"type": "object", "properties": {"free": {"type": "integer"}, "total": {"type": "integer"}}},
   "lost_found": {"type": "integer"},
   "last_errors": {"type": "array", "items": {"type": "object", "properties": {"time": {"type": "integer"}, "level": {"type": "string"}, "text": {"type": "string"}}}}}},
 "LogLine": {"type": "object", "required": ["id", "time", "level", "protocol", "text"], "properties": {
   "id": {"type": "integer"}, "time": {"type": "number"}, "level": {"type": "string", "enum": ["debug", "info", "warn", "error"]},
   "protocol": {"type": "string", "description": "smtp, imap, pop3, http, outbox, ...; empty when unknown"}, "text": {"type": "string"}}},
}
LOG_FILTERS = [qparam("q", "a substring of the line (a queue id, an address)"),
               qparam("level", "the lowest level shown", {"type": "string", "enum": ["debug", "info", "warn", "error"]}),
               qparam("protocol", "only lines of this protocol")]

def op(summary, responses, params=None, rbody=None, security=None, tags=None):
    o = {"summary": summary, "responses": responses}
    if params: o["parameters"] = params
    if rbody: o["requestBody"] = rbody
    if security is not None: o["security"] = security
    return o

paths = {
 "/api/v1/session": {
   "post": op("Log in the console: sets the session cookie", {"201": resp("logged in", ref("Session")), **errors(400, 401, 403, 415, 429)},
              rbody=body({"type": "object", "required": ["address", "password"], "properties": {"address": {"type": "string"}, "password": {"type": "string"}}}), security=[]),
   "get": op("The cookie's session and its CSRF token", {"200": resp("the session", ref("Session")), **errors(400, 401, 403)}),
   "delete": op("Log out", {"200": resp("logged out", {"type": "object", "properties": {"address": {"type": "string"}}}), **errors(400, 401, 403)})},
 "/api/v1/users": {
   "get": op("List users", {"200": resp("users", {"type": "array", "items": ref("User")}), **errors(*READ)}),
   "post": op("Add a user", {"201": resp("added", ref("User")), **errors(*CHANGE, 400, 409)},
              rbody=body({"type": "object", "required": ["address", "password"], "additionalProperties": False,
                          "properties": {"address": {"type": "string"}, "password": {"type": "string"}, "admin": {"type": "boolean"}}}))},
 "/api/v1/users/{address}": {
   "parameters": [pparam("address", "the user's address")],
   "get": op("One user", {"200": resp("the user", ref("User")), **errors(*READ, 404)}),
   "patch": op("Change a user: password, quota (null: the server's default), enabled, admin", {"200": resp("the user after the change", ref("User")), **errors(*CHANGE, 400, 404)},
               rbody=body(ref("UserChange"))),
   "delete": op("Delete a user; its mail is kept under mail/deleted/ unless purge=true", {"200": resp("deleted", RESULT), **errors(*READ, 400, 404)},
                params=[qparam("purge", "true: remove the mail for good", {"type": "string", "enum": ["true", "false"]})])},
 "/api/v1/archives": {
   "get": op("List archives", {"200": resp("archives", {"type": "array", "items": ref("Archive")}), **errors(*READ)}),
   "post": op("Add an archive", {"201": resp("added", ref("Archive")), **errors(*CHANGE, 400, 409)},
              rbody=body({"type": "object", "required": ["address"], "properties": {"address": {"type": "string"}}}))},
 "/api/v1/archives/{address}": {
   "parameters": [pparam("address", "the archive's address")],
   "delete": op("Delete an archive", {"200": resp("deleted", RESULT), **errors(*READ, 400, 404)},
                params=[qparam("purge", "true: remove the mail for good", {"type": "string", "enum": ["true", "false"]})])},
 "/api/v1/domains": {
   "get": op("List local domains", {"200": resp("domains", {"type": "array", "items": ref("Domain")}), **errors(*READ)}),
   "post": op("Add a local domain", {"201": resp("added", ref("Domain")), **errors(*CHANGE, 400, 409)},
              rbody=body({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}))},
 "/api/v1/domains/{name}": {
   "parameters": [pparam("name", "the domain")],
   "delete": op("Delete a local domain; 409 conflict while it has mailslots or aliases (named in the message)", {"200": resp("deleted", RESULT), **errors(*READ, 404, 409)})},
 "/api/v1/aliases": {
   "get": op("List aliases", {"200": resp("aliases", {"type": "array", "items": ref("Alias")}), **errors(*READ)}),
   "post": op("Add an alias (or targets to one)", {"201": resp("added", ref("Alias")), **errors(*CHANGE, 400, 409)},
              rbody=body(ref("Alias")))},
 "/api/v1/aliases/{address}": {
   "parameters": [pparam("address", "the alias")],
   "patch": op("Replace an alias's targets", {"200": resp("the alias after the change", ref("Alias")), **errors(*CHANGE, 400, 404)},
               rbody=body({"type": "object", "required": ["targets"], "additionalProperties": False, "properties": {"targets": {"type": "array", "minItems": 1, "items": {"type": "string"}}}})),
   "delete": op("Delete an alias", {"200": resp("deleted", RESULT), **errors(*READ, 404)})},
 "/api/v1/queue": {
   "get": op("The outbox, in order of arrival; without filters only the page's files are read", {"200": resp("a page", {"type": "array", "items": ref("QueuedMessage")}, TOTAL), **errors(*READ, 400)},
             params=[qparam("state", "a recipient in this state", {"type": "string", "enum": ["queued", "held", "delivered", "failed"]}),
                     qparam("domain", "a recipient in this domain (with state: the same recipient)"),
                     qparam("sender", "the sender contains this (case-insensitive)"),
                     qparam("min_age", "arrived at least this many seconds ago", {"type": "integer", "minimum": 0})] + PAGING)},
 "/api/v1/queue/retry": {
   "post": op("Clear Host Assignments for every message", {"200": resp("done", RESULT), **errors(*CHANGE)})},
 "/api/v1/queue/{id}": {
   "parameters": [pparam("id", "queue id")],
   "get": op("One queued message", {"200": resp("the message", ref("QueuedMessage")), **errors(*READ, 404)},
             params=[qparam("source", "1: add the queue file as \"source\"", {"type": "string", "enum": ["1", "0"]})])},
 "/api/v1/queue/{id}/{action}": {
   "parameters": [pparam("id", "queue id"), {"name": "action", "in": "path", "required": True, "schema": {"type": "string", "enum": ["retry", "hold", "release", "delete", "bounce"]}}],
   "post": op("An action on one message", {"200": resp("done", RESULT), **errors(*CHANGE, 404, 409, 503)})},
 "/api/v1/quarantine": {
   "get": op("Messages the filters held, oldest first", {"200": resp("held messages", {"type": "array", "items": ref("HeldMessage")}), **errors(*READ)})},
 "/api/v1/quarantine/{id}": {
   "parameters": [pparam("id", "quarantine id")],
   "get": op("One held message; with ?source=1 the whole file as text/plain", {"200": {"description": "the held message", "content": {"application/json": {"schema": ref("HeldMessage")}, "text/plain": {"schema": {"type": "string"}}}}, **errors(*READ, 404)},
             params=[qparam("source", "present: the file as text/plain")])},
 "/api/v1/quarantine/{id}/{action}": {
   "parameters": [pparam("id", "quarantine id"), {"name": "action", "in": "path", "required": True, "schema": {"type": "string", "enum": ["release", "delete"]}}],
   "post": op("Release (delivered without the filters) or delete", {"200": resp("done", RESULT), **errors(*CHANGE, 404, 409)})},
 "/api/v1/lost-found": {
   "get": op("Files Tern set aside in mail/lost+found, oldest first", {"200": resp("a page", {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": ref("LostFile")}}}, TOTAL), **errors(*READ, 400)},
             params=PAGING)},
 "/api/v1/lost-found/{name}": {
   "parameters": [pparam("name", "the file's name in lost+found")],
   "get": op("One file with its content as \"source\"", {"200": resp("the file", ref("LostFile")), **errors(*READ, 400, 404)})},
 "/api/v1/lost-found/{name}/{action}": {
   "parameters": [pparam("name", "the file's name in lost+found"), {"name": "action", "in": "path", "required": True, "schema": {"type": "string", "enum": ["requeue", "delete"]}}],
   "post": op("requeue: into the queue under a new id (400 while it still does not parse); delete: remove it and its note",
              {"200": resp("done: {id} for requeue, {result} for delete", {"type": "object", "properties": {"id": {"type": "string"}, "result": {"type": "string"}}}), **errors(*CHANGE, 400, 404)})},
 "/api/v1/check": {
   "post": op("tern check: verify the data directory (repair: true is refused with 409 while the server runs)",
              {"200": resp("the report", ref("CheckReport")), **errors(*CHANGE, 400, 409)},
              rbody=body({"type": "object", "additionalProperties": False, "properties": {"repair": {"type": "boolean", "default": False}}}, required=False))},
 "/api/v1/spam/train": {
   "post": op("tern spam train: every message of a folder learnt as spam or as ham by the mailslot's classifier and the shared one",
              {"200": resp("how many the mailslot's classifier learnt, and how many it knew already", {"type": "object", "required": ["learnt", "already"], "properties": {"learnt": {"type": "integer"}, "already": {"type": "integer"}}}), **errors(*CHANGE, 400, 404, 503)},
              rbody=body({"type": "object", "required": ["address", "folder", "as"], "additionalProperties": False,
                          "properties": {"address": {"type": "string"}, "folder": {"type": "string"}, "as": {"type": "string", "enum": ["spam", "ham"]}}}))},
 "/api/v1/spam/{address}": {
   "parameters": [pparam("address", "a mailbox or archive")],
   "get": op("What the mailslot's classifier and the shared one have learnt (tern spam stats)",
             {"200": resp("the counts", {"type": "object", "required": ["address", "user", "shared", "min_samples"], "properties": {
                 "address": {"type": "string"}, "min_samples": {"type": "integer", "description": "of each kind, before a classifier votes"},
                 "user": ref("SpamCounts"), "shared": ref("SpamCounts")}}), **errors(*READ, 404, 503)})},
 "/api/v1/dkim": {
   "get": op("DKIM keys, signing and retired, by domain then selector (tern dkim list)", {"200": resp("keys", {"type": "array", "items": ref("DkimKey")}), **errors(*READ, 503)},
             params=[qparam("domain", "only this domain's keys")])},
 "/api/v1/dkim/{domain}/{action}": {
   "parameters": [pparam("domain", "a local domain"), {"name": "action", "in": "path", "required": True, "schema": {"type": "string", "enum": ["generate", "rotate"]}}],
   "post": op("generate: the domain's Ed25519 and RSA-2048 keys (409 when it has both); rotate: a new pair signs from now on, the old one stays published 7 days",
              {"200": resp("the keys made, with the records to publish", {"type": "array", "items": ref("DkimKey")}), **errors(*CHANGE, 404, 409, 503)})},
 "/api/v1/stats": {
   "get": op("The mail counters over time and the server's state now (the console's dashboard)", {"200": resp("the statistics", ref("Stats")), **errors(*READ, 400)},
             params=[qparam("range", "hour (60 x 60 s, default), day (96 x 900 s) or month (30 x 86400 s)", {"type": "string", "enum": ["hour", "day", "month"]})])},
 "/api/v1/logs": {
   "get": op("Search the server's recent log lines (an in-memory ring of the newest 10,000), oldest first",
             {"200": resp("the lines", {"type": "object", "required": ["lines"], "properties": {"lines": {"type": "array", "items": ref("LogLine")}}}), **errors(*READ, 400)},
             params=LOG_FILTERS + [qparam("since", "Unix time", {"type": "number"}), qparam("until", "Unix time", {"type": "number"}),
                                   qparam("limit", "at most this many lines (the newest)", {"type": "integer", "minimum": 1})])},
 "/api/v1/logs/stream": {
   "get": op("The log as it is written: Server-Sent Events (event: log, data: a LogLine; event: dropped, data: {count}); honours Last-Event-ID",
             {"200": {"description": "text/event-stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}, **errors(*READ, 400)},
             params=LOG_FILTERS)},
 "/api/v1/domains/{name}/dns": {
   "parameters": [pparam("name", "a local domain")],
   "get": op("The DNS records the domain should publish (MX, SPF, DKIM, DMARC, SRV), as `tern domain dns`",
             {"200": resp("the records", {"type": "object", "required": ["domain", "records"], "properties": {"domain": {"type": "string"},
               "records": {"type": "array", "items": {"type": "object", "required": ["type", "name", "value", "zone"], "properties": {
                 "type": {"type": "string", "enum": ["MX", "TXT", "SRV"]}, "name": {"type": "string"}, "value": {"type": "string"},
                 "zone": {"type": "string", "description": "the record in zone-file form"}}}}}}), **errors(*READ, 400, 404)})},
 "/api/v1/openapi.json": {
   "get": op("This description (no authentication)", {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}, security=[])},
}
doc = {
 "openapi": "3.1.0",
 "info": {"title": "Tern administration API", "version": "1", "description": "The JSON API under /api/v1 (docs/api.md). Errors are {\"error\": {\"code\", \"message\"}}. POST and PATCH need Content-Type: application/json. A console session's changes need X-CSRF-Token."},
 "servers": [{"url": "/"}],
 "security": [{"basic": []}, {"bearer": []}, {"session": [], "csrf": []}],
 "paths": paths,
 "components": {
   "schemas": schemas,
   "responses": {"Error": {"description": "an error; the status and code follow its kind", "content": {"application/json": {"schema": ref("Error")}}}},
   "securitySchemes": {
     "basic": {"type": "http", "scheme": "basic", "description": "an administrator's address and password"},
     "bearer": {"type": "http", "scheme": "bearer", "description": "an API token (tern token add)"},
     "session": {"type": "apiKey", "in": "cookie", "name": "tern_session", "description": "the console's session (POST /api/v1/session)"},
     "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token", "description": "needed with the session cookie for every change"}}},
}
print(json.dumps(doc, indent=1))
