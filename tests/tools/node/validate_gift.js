#!/usr/bin/env node
// Parses a GIFT file with gift-pegjs (the parser Moodle-compatible tools use)
// and prints a JSON summary: question counts by type and the categories.
// Exit status 1 with the parser's message and location when the file does not parse.
"use strict";
const fs = require("fs");
const { parse } = require("gift-pegjs");

const path = process.argv[2];
if (!path) {
  console.error("usage: validate_gift.js FILE.gift");
  process.exit(2);
}
let questions;
try {
  questions = parse(fs.readFileSync(path, "utf8"));
} catch (e) {
  const where = e.location ? ` at line ${e.location.start.line}, column ${e.location.start.column}` : "";
  console.error(`${path}: not valid GIFT${where}: ${e.message}`);
  process.exit(1);
}
const types = {};
const categories = [];
for (const q of questions) {
  types[q.type] = (types[q.type] || 0) + 1;
  if (q.type === "Category") categories.push(q.title);
}
const numerical = questions.filter((q) => q.type === "Numerical");
const choice = questions.filter((q) => q.type === "MC");
const correctChoices = choice.map((q) => q.choices.filter((c) => c.isCorrect).length);
console.log(JSON.stringify({
  questions: questions.length - categories.length,
  types,
  categories,
  numerical_with_range: numerical.filter((q) => q.choices.every((c) => c.text && c.text.type === "range")).length,
  choice_with_one_correct: correctChoices.filter((n) => n === 1).length,
  titles: questions.filter((q) => q.title && q.type !== "Category").map((q) => q.title),
  stems: questions.filter((q) => q.stem).map((q) => q.stem.text),
}));
