#!/usr/bin/env node
// Drives the controller's web dashboard (controller/service/dashboard/) in a
// real headless browser (Debian's chromium through playwright-core; no browser
// download), the way an operator uses it, and reports what the pages showed.
//
//   drive_dashboard.js '{"url": "http://127.0.0.1:PORT", "chromium": "/usr/bin/chromium",
//                        "out": "DIR", "agent": "edge-1", "system": "web",
//                        "mode": "fleet" | "token", "token": "..."}'
//
// mode "fleet": the fleet page lists the agent and the system; the system page
// draws its chart and, within the deadline, a decision row that changed the
// desired count; the scenarios page lists scenarios. The script also answers
// GET /api/v1/alerts itself, in its documented shape, to see the alerts
// table. Screenshots fleet.png, fleet-alerts.png, system.png and
// scenarios.png go to DIR.
// mode "token": the page asks for a token, refuses a wrong one, then shows the
// fleet with the right one. Screenshots token.png and fleet-with-token.png.
//
// Prints one JSON summary on stdout; exit status 1 (and the summary with an
// "error" on stderr) when a page does not show what it should in time.
"use strict";
const path = require("path");
const { chromium } = require("playwright-core");

const options = JSON.parse(process.argv[2] || "{}");
if (!options.url || !options.out || !options.agent || !options.system) {
  console.error("usage: drive_dashboard.js '{\"url\":..., \"out\":..., \"agent\":..., \"system\":...}'");
  process.exit(2);
}
const kPageDeadline = 30000;
const kDecisionDeadline = 120000;

(async () => {
  // The browser is test tooling and runs on the real clock even when the
  // suite runs under faketime (tests/tools/test-repeat.sh), whose preload
  // stalls chromium. Nothing asserted depends on its clock.
  const env = Object.fromEntries(Object.entries(process.env).filter(
    ([name]) => name !== "LD_PRELOAD" && !name.startsWith("FAKETIME")));
  const browser = await chromium.launch({
    executablePath: options.chromium || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    env,
  });
  const summary = { mode: options.mode || "fleet", problems: [], foreign_requests: [] };
  const origin = new URL(options.url).origin;
  try {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    // Script errors, CSP refusals and requests leaving the controller are
    // problems; a refused or missing API resource (401, 404) is the page's to
    // handle and is only logged by the browser.
    page.on("pageerror", (e) => summary.problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
        summary.problems.push(`console: ${m.text()}`);
      }
    });
    page.on("request", (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith("blob:")) {
        summary.foreign_requests.push(r.url());
      }
    });
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) => {
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    if (summary.mode === "token") {
      await tokenFlow(page, summary);
    } else {
      await fleetFlow(page, summary);
    }
    console.log(JSON.stringify(summary));
  } catch (e) {
    summary.error = e.message;
    console.error(JSON.stringify(summary));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();

const shot = (page, name) => page.screenshot({ path: path.join(options.out, name), fullPage: true });

async function fleetRows(page, summary) {
  const agentRow = page.locator(`#fleet tr[data-agent="${options.agent}"]`);
  const systemRow = page.locator(`#fleet tr[data-system="${options.system}"]`);
  await agentRow.waitFor({ timeout: kPageDeadline });
  await systemRow.waitFor({ timeout: kPageDeadline });
  summary.agent_row = (await agentRow.innerText()).replace(/\s+/g, " ").trim();
  summary.system_row = (await systemRow.innerText()).replace(/\s+/g, " ").trim();
  summary.system_link = await systemRow.locator("a").first().getAttribute("href");
}

async function fleetFlow(page, summary) {
  await page.goto(`${options.url}/`);
  await fleetRows(page, summary);
  // Wait for the agent's first cycle so the row shows replicas and demand.
  await page.waitForFunction((name) => {
    const row = document.querySelector(`#fleet tr[data-system="${name}"]`);
    return row && !/^–$/.test(row.cells[3].textContent.trim());
  }, options.system, { timeout: kPageDeadline });
  summary.alerts_text = (await page.locator("#alerts").innerText()).replace(/\s+/g, " ").trim();
  await shot(page, "fleet.png");

  // GET /api/v1/alerts in its documented shape (whether or not this
  // controller has the route yet): firing and pending ones are listed,
  // resolved ones are not, and a subject is text.
  const alert = (rule, state, extra) => ({ rule, condition: "health_score < 95", subject: "web",
    system: "web", agent: null, state, value: 12.5, since: "2026-01-01T00:00:00.000Z",
    fired_at: null, resolved_at: null, ...extra });
  await page.route("**/api/v1/alerts", (r) => r.fulfill({ status: 200,
    contentType: "application/json", body: JSON.stringify({ alerts: [
      alert("web-unhealthy", "firing", { fired_at: "2026-01-01T00:01:00.000Z" }),
      alert("edge-quiet", "pending", { system: null, agent: "edge-1", subject: "<i>edge-1</i>" }),
      alert("web-slow", "resolved", { resolved_at: "2026-01-01T00:02:00.000Z" })] }) }));
  await page.waitForSelector('#alerts tr[data-alert="edge-quiet"]', { timeout: kPageDeadline });
  summary.alerts = await page.evaluate(() => ({
    rules: Array.from(document.querySelectorAll("#alerts tr[data-alert]")).map((r) => r.dataset.alert),
    elements: document.querySelectorAll("#alerts i").length,
    text: document.getElementById("alerts").innerText.replace(/\s+/g, " ").trim(),
  }));
  await shot(page, "fleet-alerts.png");
  await page.unroute("**/api/v1/alerts");

  // The system page through the fleet's own link.
  await page.click(`#fleet tr[data-system="${options.system}"] a`);
  await page.waitForSelector("#system-chart path.demand", { timeout: kPageDeadline });
  const changed = page.locator('#decisions tr[data-changed="true"]');
  await changed.first().waitFor({ timeout: kDecisionDeadline });
  // The ramp crosses several replica boundaries; a few of them make the
  // screenshot show what the page is for. Only the first one is required.
  await page.waitForFunction(
    () => document.querySelectorAll('#decisions tr[data-changed="true"]').length >= 3, null,
    { timeout: kPageDeadline }).catch(() => {});
  summary.decisions = await changed.evaluateAll((rows) => rows.map((r) => ({
    cycle: r.dataset.cycle,
    from: Number(r.dataset.from),
    current: Number(r.dataset.current),
    desired: Number(r.dataset.desired),
    text: r.innerText.replace(/\s+/g, " ").trim(),
  })));
  // The chart marks the same decisions it lists, once the next poll drew them.
  await page.waitForFunction(() => document.querySelectorAll("#system-chart g.decision").length > 0,
    null, { timeout: kPageDeadline });
  summary.chart = await page.evaluate(() => {
    const chart = document.getElementById("system-chart");
    return {
      role: chart.getAttribute("role"),
      title: chart.querySelector("title").textContent,
      desc: chart.querySelector("desc").textContent,
      demand_path: (chart.querySelector("path.demand").getAttribute("d") || "").length,
      capacity_path: Boolean(chart.querySelector("path.capacity")),
      markers: Array.from(chart.querySelectorAll("g.decision")).map((g) => g.dataset.cycle),
    };
  });
  // What an operator wrote reaches the page as text, never as markup.
  await page.waitForSelector("#directives tr[data-directive]", { timeout: kPageDeadline });
  summary.directives = await page.evaluate(() => ({
    reasons: Array.from(document.querySelectorAll("#directives td.rationale"))
      .map((td) => td.textContent),
    elements: document.querySelectorAll("#directives img, #directives b").length,
    pwned: document.body.dataset.pwned || null,
  }));
  await shot(page, "system.png");

  await page.click('nav a[data-nav="scenarios"]');
  await page.waitForSelector("#scenarios tr[data-scenario]", { timeout: kPageDeadline });
  summary.scenarios = await page.evaluate(() => Array.from(
    document.querySelectorAll("#scenarios tr[data-scenario]")).slice(0, 3).map((r) => ({
    id: r.dataset.scenario,
    links: Array.from(r.querySelectorAll("a[data-api-link]")).map((a) => a.getAttribute("href")),
  })));
  await shot(page, "scenarios.png");
}

async function tokenFlow(page, summary) {
  await page.goto(`${options.url}/`);
  const form = page.locator("#auth:not([hidden])");
  await form.waitFor({ timeout: kPageDeadline });
  summary.asked_for_token = true;
  summary.view_hidden = await page.locator("#view").isHidden();
  await shot(page, "token.png");

  await page.fill("#token", "not-the-token");
  await page.click('#auth-form button[type="submit"]');
  await page.waitForFunction(
    () => /refused/.test(document.getElementById("auth-reason").textContent)
      && !document.getElementById("auth").hidden, null, { timeout: kPageDeadline });
  summary.refused_text = await page.locator("#auth-reason").innerText();

  await page.fill("#token", options.token);
  await page.click('#auth-form button[type="submit"]');
  await fleetRows(page, summary);
  summary.auth_hidden = await page.locator("#auth").isHidden();
  summary.stored = await page.evaluate(() => sessionStorage.getItem("pso.dashboard.token"));
  await shot(page, "fleet-with-token.png");
}
