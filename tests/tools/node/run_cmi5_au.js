#!/usr/bin/env node
// Launches one cmi5 assignable unit the way an LMS does, in a real headless
// browser (Debian's chromium, driven by playwright-core; no browser download):
// opens URL (the AU with the cmi5 launch parameters already in its query),
// waits for the AU to be ready, answers every question right or wrong, submits
// and waits until the AU says it terminated.
//
//   run_cmi5_au.js URL right|wrong [CHROMIUM]
//
// Prints a JSON summary {state, questions, console}; exit status 1 when the
// AU reports an error or does not terminate within the deadline.
"use strict";
const { chromium } = require("playwright-core");

const [url, mode, executable] = process.argv.slice(2);
if (!url || (mode !== "right" && mode !== "wrong")) {
  console.error("usage: run_cmi5_au.js URL right|wrong [CHROMIUM]");
  process.exit(2);
}

(async () => {
  // The browser is test tooling: it runs on the real clock even when the
  // suite runs under faketime (tests/tools/test-repeat.sh), whose preload
  // stalls chromium's navigation. Nothing asserted depends on its clock.
  const env = Object.fromEntries(Object.entries(process.env).filter(
    ([name]) => name !== "LD_PRELOAD" && !name.startsWith("FAKETIME")));
  const browser = await chromium.launch({
    executablePath: executable || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    env,
  });
  const consoleLines = [];
  let state = "unknown";
  let questions = 0;
  try {
    const page = await browser.newPage();
    page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
    await page.goto(url);
    const status = page.locator("#pso-au-status");
    await page.waitForFunction(
      () => ["ready", "error"].includes(document.getElementById("pso-au-status").dataset.cmi5State),
      null, { timeout: 30000 });
    state = await status.getAttribute("data-cmi5-state");
    if (state !== "ready") throw new Error(`AU not ready: ${await status.textContent()}`);
    const data = JSON.parse(await page.locator("#pso-au-data").textContent());
    questions = data.questions.length;
    for (let i = 0; i < data.questions.length; i += 1) {
      const q = data.questions[i].question;
      const name = `q${i}`;
      if (q.type === "multiple_choice") {
        let index = q.choices.findIndex((c) => c.correct === (mode === "right"));
        if (index < 0) index = 0;
        await page.check(`input[name="${name}"][value="${index}"]`);
      } else if (q.type === "numeric") {
        const value = mode === "right" ? q.answer : q.answer + Math.abs(q.tolerance || 0) + 1000;
        await page.fill(`input[name="${name}"]`, String(value));
      } else {
        await page.fill(`input[name="${name}"]`, mode === "right" ? q.answer : "no such model");
      }
    }
    await page.click("#pso-submit");
    await page.waitForFunction(
      () => ["terminated", "error"].includes(document.getElementById("pso-au-status").dataset.cmi5State),
      null, { timeout: 30000 });
    state = await status.getAttribute("data-cmi5-state");
    if (state !== "terminated") throw new Error(`AU did not terminate: ${await status.textContent()}`);
    console.log(JSON.stringify({ state, questions, console: consoleLines }));
  } catch (e) {
    console.error(JSON.stringify({ state, questions, error: e.message, console: consoleLines }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
