#!/usr/bin/env node
// Validates xAPI statements with xapi-validation (Learning Locker's conformance-
// tested validator). Input: a JSON file holding one statement or an array of
// them. Prints a JSON summary; exit status 1 listing every problem when any
// statement is invalid.
"use strict";
const fs = require("fs");
const validate = require("xapi-validation").default;

const path = process.argv[2];
if (!path) {
  console.error("usage: validate_xapi.js FILE.json");
  process.exit(2);
}
let data;
try {
  data = JSON.parse(fs.readFileSync(path, "utf8"));
} catch (e) {
  console.error(`${path}: not JSON: ${e.message}`);
  process.exit(1);
}
const statements = Array.isArray(data) ? data : [data];
const problems = [];
statements.forEach((statement, index) => {
  for (const warning of validate(statement)) {
    problems.push({ index, path: warning.path.join("."), message: warning.message || String(warning) });
  }
});
const verbs = {};
for (const s of statements) {
  const id = s && s.verb && s.verb.id;
  verbs[id] = (verbs[id] || 0) + 1;
}
if (problems.length > 0) {
  console.error(JSON.stringify({ statements: statements.length, problems }));
  process.exit(1);
}
console.log(JSON.stringify({ statements: statements.length, verbs }));
