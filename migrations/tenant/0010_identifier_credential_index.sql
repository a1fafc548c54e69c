-- The identity lists and reads gather each credential's identifiers by
-- credential_id, and deleting a credential cascades by it: without an
-- index each of those scanned every identifier of the project.

CREATE INDEX identity_credential_identifiers_credential ON identity_credential_identifiers (credential_id);
