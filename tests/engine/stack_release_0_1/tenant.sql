BEGIN TRANSACTION;
CREATE TABLE actions (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL,
    type         TEXT NOT NULL,
    trigger_type TEXT NOT NULL,
    language     TEXT NOT NULL,
    content      TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    created_ms   INTEGER NOT NULL,
    modified_ms  INTEGER NOT NULL
);
INSERT INTO "actions" VALUES('e19f7bf0-81d9-47fb-a7a5-6cfac588a96a','normalize_phone','Normalizes a phone number','SCRIPT','MANUAL','JavaScript','function main(context) {
  const digits = String(context.input.phone || "").replace(/\D/g, "");
  return { e164: "+" + digits };
}
',1,1,1796411530550,1796411530550);
INSERT INTO "actions" VALUES('ed132292-5b72-44ab-8f18-7081ab25d637','greeting','Managed by Pulumi: greeting','SCRIPT','MANUAL','JavaScript','function main(context) { return "Hello, " + context.input.who; }
',1,1,1796411530558,1796411530558);
INSERT INTO "actions" VALUES('5a6f5d22-1ddd-4908-a452-95105b59aa35','lead_tier','Managed by Pulumi: lead_tier','SCRIPT','MANUAL','JavaScript','function main(context) {
  const phone = context.call("normalize_phone", { phone: context.input.phone });
  return { tier: phone.e164.length > 10 ? "gold" : "silver" };
}
',1,1,1796411530781,1796411530781);
CREATE TABLE dependencies (
    action_id  TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    depends_on TEXT NOT NULL REFERENCES actions (id) ON DELETE RESTRICT,
    PRIMARY KEY (action_id, position)
);
INSERT INTO "dependencies" VALUES('5a6f5d22-1ddd-4908-a452-95105b59aa35',0,'e19f7bf0-81d9-47fb-a7a5-6cfac588a96a');
CREATE TABLE idempotency_keys (
    client_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    answer       TEXT,
    expires_ms   INTEGER NOT NULL,
    PRIMARY KEY (client_id, key)
);
INSERT INTO "idempotency_keys" VALUES('demo','pulumi-cxone-0a3f7b5b244f27b796225d0fa353868841368f337851943f207bfa4404bc60e3','b4a832181e3111c9b236085cec3495cbecf472d65c99722f96b2e4e723a69d14','done','{"status": 201, "body": {"id": "e19f7bf0-81d9-47fb-a7a5-6cfac588a96a", "name": "normalize_phone", "description": "Normalizes a phone number", "type": "SCRIPT", "trigger": {"type": "MANUAL"}, "script": {"language": "JavaScript", "content": "function main(context) {\n  const digits = String(context.input.phone || \"\").replace(/\\D/g, \"\");\n  return { e164: \"+\" + digits };\n}\n"}, "enabled": true, "dependencies": [], "version": 1, "createdTimestamp": 1796411530550, "modifiedTimestamp": 1796411530550}, "headers": {"ETag": "\"1\""}}',1796497930507);
INSERT INTO "idempotency_keys" VALUES('demo','pulumi-cxone-b8da5d1f62aece4d526585cbb57ee2d3a61cfe8c60750761f24faf5150add8d8','cd46ca9472937eea85f6c40ad50f49a99f73ab412b0053de2d3199e631638d0d','done','{"status": 201, "body": {"id": "ed132292-5b72-44ab-8f18-7081ab25d637", "name": "greeting", "description": "Managed by Pulumi: greeting", "type": "SCRIPT", "trigger": {"type": "MANUAL"}, "script": {"language": "JavaScript", "content": "function main(context) { return \"Hello, \" + context.input.who; }\n"}, "enabled": true, "dependencies": [], "version": 1, "createdTimestamp": 1796411530558, "modifiedTimestamp": 1796411530558}, "headers": {"ETag": "\"1\""}}',1796497930509);
INSERT INTO "idempotency_keys" VALUES('demo','pulumi-cxone-4c1197575fc96ed85454f185ca3fe4a7efc8b890e541c7cb1554429ffc808ba2','3cbbcb4eb9e2778682ead820a9f00ef74d8cbcc817ede98ff72389272c621e8e','done','{"status": 201, "body": {"id": "5a6f5d22-1ddd-4908-a452-95105b59aa35", "name": "lead_tier", "description": "Managed by Pulumi: lead_tier", "type": "SCRIPT", "trigger": {"type": "MANUAL"}, "script": {"language": "JavaScript", "content": "function main(context) {\n  const phone = context.call(\"normalize_phone\", { phone: context.input.phone });\n  return { tier: phone.e164.length > 10 ? \"gold\" : \"silver\" };\n}\n"}, "enabled": true, "dependencies": ["normalize_phone"], "version": 1, "createdTimestamp": 1796411530781, "modifiedTimestamp": 1796411530781}, "headers": {"ETag": "\"1\""}}',1796497930779);
CREATE INDEX actions_by_creation ON actions (created_ms, id);
CREATE INDEX dependencies_by_target ON dependencies (depends_on);
COMMIT;
