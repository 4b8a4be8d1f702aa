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
INSERT INTO "actions" VALUES('87ade0a5-e4fb-427a-9b4d-d6405fdfc606','normalize_phone','Normalizes a phone number','SCRIPT','MANUAL','JavaScript','function main(context) {
  const digits = String(context.input.phone || "").replace(/\D/g, "");
  return { e164: "+" + digits };
}
',1,1,1796285662651,1796285662651);
INSERT INTO "actions" VALUES('495e0f6a-c981-4a38-8f67-e94c37b529b3','caller_key','Managed by Pulumi: caller_key','SCRIPT','MANUAL','JavaScript','function main(context) {
  const phone = context.call("normalize_phone", { phone: context.input.phone });
  return { key: "phone:" + phone.e164, score: 1.5, tags: [] };
}
',1,1,1796285662948,1796285662948);
CREATE TABLE dependencies (
    action_id  TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    depends_on TEXT NOT NULL REFERENCES actions (id) ON DELETE RESTRICT,
    PRIMARY KEY (action_id, position)
);
INSERT INTO "dependencies" VALUES('495e0f6a-c981-4a38-8f67-e94c37b529b3',0,'87ade0a5-e4fb-427a-9b4d-d6405fdfc606');
CREATE TABLE idempotency_keys (
    client_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    answer       TEXT,
    expires_ms   INTEGER NOT NULL,
    PRIMARY KEY (client_id, key)
);
INSERT INTO "idempotency_keys" VALUES('demo','pulumi-cxone-1bf4c471e22aa71b47249737bffc9cb286828a73ef11b620b32581e6be74aad3','b4a832181e3111c9b236085cec3495cbecf472d65c99722f96b2e4e723a69d14','done','{"status": 201, "body": {"id": "87ade0a5-e4fb-427a-9b4d-d6405fdfc606", "name": "normalize_phone", "description": "Normalizes a phone number", "type": "SCRIPT", "trigger": {"type": "MANUAL"}, "script": {"language": "JavaScript", "content": "function main(context) {\n  const digits = String(context.input.phone || \"\").replace(/\\D/g, \"\");\n  return { e164: \"+\" + digits };\n}\n"}, "enabled": true, "dependencies": [], "version": 1, "createdTimestamp": 1796285662651, "modifiedTimestamp": 1796285662651}, "headers": {"ETag": "\"1\""}}',1796372062578);
INSERT INTO "idempotency_keys" VALUES('demo','pulumi-cxone-e2b88c156aa87ae37ae035a11f48bea9447970c622621dc90b7147fc6caa7714','8bc2620fe4d450a7c550fe64984c7077e49fbf0dee040d7ab332e5b12bd38e91','done','{"status": 201, "body": {"id": "495e0f6a-c981-4a38-8f67-e94c37b529b3", "name": "caller_key", "description": "Managed by Pulumi: caller_key", "type": "SCRIPT", "trigger": {"type": "MANUAL"}, "script": {"language": "JavaScript", "content": "function main(context) {\n  const phone = context.call(\"normalize_phone\", { phone: context.input.phone });\n  return { key: \"phone:\" + phone.e164, score: 1.5, tags: [] };\n}\n"}, "enabled": true, "dependencies": ["normalize_phone"], "version": 1, "createdTimestamp": 1796285662948, "modifiedTimestamp": 1796285662948}, "headers": {"ETag": "\"1\""}}',1796372062946);
CREATE INDEX actions_by_creation ON actions (created_ms, id);
CREATE INDEX dependencies_by_target ON dependencies (depends_on);
COMMIT;
