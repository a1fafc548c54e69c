// Replaces the built app's larger text assets with their gzip (name.gz):
// the Go binary embeds only the compressed bytes and serves them as name
// (package dashboard/web), gunzipping once for clients without gzip.
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, constants } from "node:zlib";

const dir = fileURLToPath(new URL("../../../../dashboard/web/dist/assets", import.meta.url));
const text = /\.(js|mjs|css|svg|json|txt|map)$/;
let before = 0;
let after = 0;
for (const name of readdirSync(dir, { recursive: true })) {
  const file = join(dir, String(name));
  if (!text.test(file) || !statSync(file).isFile()) continue;
  const body = readFileSync(file);
  if (body.length < 1024) continue;
  const gz = gzipSync(body, { level: constants.Z_BEST_COMPRESSION });
  if (gz.length >= body.length) continue;
  writeFileSync(file + ".gz", gz);
  unlinkSync(file);
  before += body.length;
  after += gz.length;
}
console.log(`compressed assets: ${(before / 1024).toFixed(1)} KB -> ${(after / 1024).toFixed(1)} KB gzipped`);
