// Fails when src/schema.ts is not what `npm run generate` makes from
// internal/openapi/openapi.yaml, so the client's types cannot drift from the
// API document. Fix: run `npm run generate` in sdk/js/client and commit.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const pkgPath = require.resolve("openapi-typescript/package.json");
const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
const bin = join(dirname(pkgPath), typeof pkg.bin === "string" ? pkg.bin : pkg.bin["openapi-typescript"]);
const spec = join(root, "..", "..", "..", "internal", "openapi", "openapi.yaml");

const dir = mkdtempSync(join(tmpdir(), "lanyard-client-"));
try {
  const out = join(dir, "schema.ts");
  execFileSync(process.execPath, [bin, spec, "--output", out], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  const want = readFileSync(out, "utf8");
  const got = readFileSync(join(root, "src", "schema.ts"), "utf8");
  if (got !== want) {
    const a = got.split("\n"), b = want.split("\n");
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    console.error(`sdk/js/client/src/schema.ts is stale (first difference at line ${i + 1}): internal/openapi/openapi.yaml changed.`);
    console.error(`  committed: ${a[i] ?? "<end of file>"}\n  generated: ${b[i] ?? "<end of file>"}`);
    console.error("Run `npm run generate` in sdk/js/client and commit src/schema.ts.");
    process.exit(1);
  }
  console.log("src/schema.ts is current with internal/openapi/openapi.yaml");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
