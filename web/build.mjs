// Bundles src/main.js (+ CSS) into python/src/porthole/server/static/app.{js,css}.
// Deterministic: same inputs, same bytes (no timestamps, no absolute paths,
// no source maps). `make web` runs `npm ci && npm run build`; CI checks that a
// rebuild changes nothing in the committed bundle.
import * as esbuild from "esbuild";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, "../python/src/porthole/server/static");

await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.js" },
  outdir,
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: false,
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});
