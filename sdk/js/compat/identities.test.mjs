// The official Kratos SDK (@ory/client-fetch), used unchanged, against a
// Lanyard project: basePath is the project URL, accessToken the project's
// API key. Run by identity/compat_node_test.go, which starts the server and
// sets LANYARD_URL and LANYARD_KEY.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Configuration, IdentityApi, ResponseError } from "@ory/client-fetch";

const basePath = process.env.LANYARD_URL;
const accessToken = process.env.LANYARD_KEY;

test("IdentityApi against a Lanyard project", { skip: !basePath && "LANYARD_URL is not set (run through go test ./identity)" }, async () => {
  const api = new IdentityApi(new Configuration({ basePath, accessToken }));
  const run = Date.now().toString(36);

  // create
  const created = [];
  for (let k = 0; k < 5; k++) {
    const identity = await api.createIdentity({
      createIdentityBody: {
        schema_id: "default",
        traits: { email: `Node-${run}-${k}@Example.com`, name: { first: "Node", last: String(k) } },
        credentials: { password: { config: { password: `secret-${k}-${run}` } } },
        metadata_public: { k },
      },
    });
    assert.equal(identity.traits.email, `Node-${run}-${k}@Example.com`);
    assert.ok(identity.created_at instanceof Date, "created_at parsed as a Date");
    assert.equal(identity.state, "active");
    assert.deepEqual(identity.credentials.password.identifiers, [`node-${run}-${k}@example.com`]);
    assert.equal(identity.verifiable_addresses[0].status, "pending");
    created.push(identity.id);
  }

  // list with pagination: follow the Link header's rel="next"
  const seen = new Set();
  let pageToken;
  for (let pages = 0; pages < 10; pages++) {
    const res = await api.listIdentitiesRaw({ pageSize: 2, pageToken });
    const page = await res.value();
    assert.ok(page.length <= 2);
    page.forEach((i) => seen.add(i.id));
    const link = res.raw.headers.get("link") ?? "";
    assert.match(link, /rel="first"/);
    const next = /<([^>]+)>; rel="next"/.exec(link);
    if (!next) break;
    pageToken = new URL(next[1]).searchParams.get("page_token");
  }
  for (const id of created) assert.ok(seen.has(id), `identity ${id} listed`);

  // filter by identifier
  const found = await api.listIdentities({ credentialsIdentifier: `node-${run}-0@example.com` });
  assert.equal(found.length, 1);
  assert.equal(found[0].id, created[0]);

  // get, with the password hash
  const got = await api.getIdentity({ id: created[0], includeCredential: ["password"] });
  assert.match(got.credentials.password.config.hashed_password, /^\$argon2id\$/);
  assert.deepEqual(got.metadata_public, { k: 0 });

  // patch (JSON Patch)
  const patched = await api.patchIdentity({
    id: created[1],
    jsonPatch: [
      { op: "replace", path: "/traits/name/first", value: "Patched" },
      { op: "replace", path: "/state", value: "inactive" },
    ],
  });
  assert.equal(patched.traits.name.first, "Patched");
  assert.equal(patched.state, "inactive");
  assert.ok(patched.state_changed_at instanceof Date);

  // a refused patch is a ResponseError with the Kratos envelope
  let refused;
  try {
    await api.patchIdentity({ id: created[1], jsonPatch: [{ op: "replace", path: "/id", value: "x" }] });
  } catch (err) {
    refused = err;
  }
  assert.ok(refused instanceof ResponseError, "a patch of /id is refused");
  assert.equal(refused.response.status, 400);
  assert.equal((await refused.response.json()).error.code, 400);

  // delete
  for (const id of created) await api.deleteIdentity({ id });
  await assert.rejects(api.getIdentity({ id: created[0] }), (err) => err instanceof ResponseError && err.response.status === 404);
});
