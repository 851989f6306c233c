// The cmi5 AU runtime shipped in every package as au/cmi5-au.js
// (cmi5_package.h describes what it sends and in which order). Plain
// ES2017 for the browsers LMS learners use: fetch, async/await,
// URLSearchParams; no library, no external resource.

#include "controller/scenarios/cmi5_package.h"

namespace pso::controller::scenarios {
namespace {

constexpr std::string_view kScript =
    R"js(// PSO-PRIME cmi5 assignable unit: launch, LaunchData, statements.
(function () {
  "use strict";
  var XAPI_VERSION = "1.0.3";
  var CATEGORY_CMI5 = "https://w3id.org/xapi/cmi5/context/categories/cmi5";
  var CATEGORY_MOVEON = "https://w3id.org/xapi/cmi5/context/categories/moveon";
  var EXT_MASTERY = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore";
  var VERBS = {
    initialized: "http://adlnet.gov/expapi/verbs/initialized",
    answered: "http://adlnet.gov/expapi/verbs/answered",
    passed: "http://adlnet.gov/expapi/verbs/passed",
    failed: "http://adlnet.gov/expapi/verbs/failed",
    completed: "http://adlnet.gov/expapi/verbs/completed",
    terminated: "http://adlnet.gov/expapi/verbs/terminated"
  };

  var data = JSON.parse(document.getElementById("pso-au-data").textContent);
  var statusEl = document.getElementById("pso-au-status");
  var form = document.getElementById("pso-quiz-form");
  var submit = document.getElementById("pso-submit");
  var resultEl = document.getElementById("pso-result");
  var session = null;
  var terminated = false;

  function show(state, message) {
    statusEl.setAttribute("data-cmi5-state", state);
    statusEl.textContent = message;
  }

  function launchParameters() {
    var query = new URLSearchParams(window.location.search);
    var p = {};
    ["endpoint", "fetch", "registration", "activityId", "actor"].forEach(function (name) {
      var value = query.get(name);
      if (!value) throw new Error("launch parameter '" + name + "' is missing: open this unit from the LMS");
      p[name] = value;
    });
    p.actor = JSON.parse(p.actor);
    if (p.endpoint.charAt(p.endpoint.length - 1) !== "/") p.endpoint += "/";
    return p;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function duration(fromMs) {
    return "PT" + (Math.max(0, Date.now() - fromMs) / 1000).toFixed(2) + "S";
  }

  function headers(withBody) {
    var h = { "Authorization": "Basic " + session.token, "X-Experience-API-Version": XAPI_VERSION };
    if (withBody) h["Content-Type"] = "application/json";
    return h;
  }

  async function fetchToken(url) {
    var reply = await fetch(url, { method: "POST" });
    if (!reply.ok) throw new Error("the LMS fetch URL answered " + reply.status);
    var body = await reply.json();
    if (body["error-code"] !== undefined) throw new Error("the LMS fetch URL refused: " + body["error-text"]);
    if (!body["auth-token"]) throw new Error("the LMS fetch URL gave no auth-token");
    return body["auth-token"];
  }

  async function readLaunchData(p) {
    var query = new URLSearchParams({
      stateId: "LMS.LaunchData", activityId: p.activityId,
      agent: JSON.stringify(p.actor), registration: p.registration
    });
    var reply = await fetch(p.endpoint + "activities/state?" + query.toString(), { headers: headers(false) });
    if (!reply.ok) throw new Error("LMS.LaunchData: the LRS answered " + reply.status);
    return reply.json();
  }

  // The LMS's contextTemplate, with the registration and, for cmi5 defined
  // statements, the cmi5 category (and moveon for passed, failed, completed).
  function context(kind) {
    var c = JSON.parse(JSON.stringify(session.template || {}));
    c.registration = session.registration;
    c.contextActivities = c.contextActivities || {};
    if (kind === "cmi5" || kind === "moveon") {
      var category = c.contextActivities.category || [];
      category.push({ id: CATEGORY_CMI5, objectType: "Activity" });
      if (kind === "moveon") category.push({ id: CATEGORY_MOVEON, objectType: "Activity" });
      c.contextActivities.category = category;
    } else {
      var parent = c.contextActivities.parent || [];
      parent.push({ id: session.activityId, objectType: "Activity" });
      c.contextActivities.parent = parent;
    }
    return c;
  }

  function statement(verb, object, kind, result) {
    var s = {
      id: uuid(), timestamp: new Date().toISOString(), actor: session.actor,
      verb: { id: VERBS[verb], display: { "en-US": verb } },
      object: object || { objectType: "Activity", id: session.activityId },
      context: context(kind)
    };
    if (result) s.result = result;
    return s;
  }

  async function send(s, keepalive) {
    var reply = await fetch(session.endpoint + "statements", {
      method: "POST", headers: headers(true), body: JSON.stringify(s), keepalive: !!keepalive
    });
    if (!reply.ok) throw new Error(s.verb.display["en-US"] + ": the LRS answered " + reply.status);
  }

  function normalized(text) { return String(text).trim().toLowerCase(); }

  // The same rules as psoctl scenarios grade (controller/scenarios/grading.cpp).
  function grade(entry, input) {
    var q = entry.question;
    if (q.type === "numeric") {
      var text = normalized(input);
      var value = text === "" ? NaN : Number(text);
      var tolerance = Math.abs(q.tolerance || 0);
      var ok = isFinite(value) && Math.abs(value - q.answer) <= tolerance + 1e-9 * Math.max(1, Math.abs(q.answer));
      return { response: isFinite(value) ? String(value) : text, correct: ok };
    }
    if (q.type === "multiple_choice") {
      var index = input === "" ? -1 : Number(input);
      var chosen = index >= 0 && index < q.choices.length;
      return { response: chosen ? String.fromCharCode(97 + index) : "", correct: chosen && !!q.choices[index].correct };
    }
    var accepted = (q.accept || []).concat([q.answer]).filter(function (a) { return a; }).map(normalized);
    return { response: String(input), correct: accepted.indexOf(normalized(input)) >= 0 };
  }

  function answerOf(i) {
    var field = form.elements["q" + i];
    if (!field) return "";
    if (field instanceof RadioNodeList || field.type === "radio") return field.value || "";
    return field.value;
  }

  async function terminate() {
    if (terminated) return;
    terminated = true;
    await send(statement("terminated", null, "cmi5", { duration: duration(session.started) }));
    show("terminated", "Your result is recorded; you can close this page.");
    if (session.returnURL) window.location.assign(session.returnURL);
  }

  async function onSubmit(event) {
    event.preventDefault();
    submit.disabled = true;
    try {
      var normal = session.launchMode === "Normal";
      var correct = 0;
      var answered = [];
      data.questions.forEach(function (entry, i) {
        var g = grade(entry, answerOf(i));
        if (g.correct) correct += 1;
        document.getElementById("q" + i + "-feedback").textContent =
          (g.correct ? "Correct. " : "Not quite: the answer is " + entry.question.answer + ". ") + (entry.question.feedback || "");
        answered.push(statement("answered", entry.activity, "allowed",
          { response: g.response, success: g.correct, duration: duration(session.started) }));
      });
      if (normal) {
        for (var k = 0; k < answered.length; k += 1) await send(answered[k]);
        // Nothing asked, nothing judged: a unit without questions only completes.
        var scaled = data.questions.length ? correct / data.questions.length : 0;
        if (data.questions.length > 0 && session.masteryScore !== null &&
            session.masteryScore !== undefined) {
          var passed = scaled >= session.masteryScore;
          var s = statement(passed ? "passed" : "failed", null, "moveon", {
            score: { scaled: scaled, raw: correct, min: 0, max: data.questions.length },
            success: passed, duration: duration(session.started)
          });
          s.context.extensions = s.context.extensions || {};
          s.context.extensions[EXT_MASTERY] = session.masteryScore;
          await send(s);
          resultEl.textContent = correct + " of " + data.questions.length + " right: " + (passed ? "passed." : "not passed yet.");
        }
        await send(statement("completed", null, "moveon", { completion: true, duration: duration(session.started) }));
      }
      await terminate();
    } catch (e) {
      show("error", String(e.message || e));
    }
  }

  async function launch() {
    try {
      var p = launchParameters();
      session = { endpoint: p.endpoint, registration: p.registration, activityId: p.activityId,
                  actor: p.actor, started: Date.now() };
      session.token = await fetchToken(p.fetch);
      var launchData = await readLaunchData(p);
      session.template = launchData.contextTemplate || {};
      session.launchMode = launchData.launchMode || "Normal";
      session.returnURL = launchData.returnURL || "";
      session.masteryScore = typeof launchData.masteryScore === "number" ? launchData.masteryScore : data.masteryScore;
      await send(statement("initialized", null, "cmi5"));
      form.addEventListener("submit", onSubmit);
      submit.disabled = false;
      show("ready", session.launchMode === "Normal" ? "Answer the questions, then submit."
                                                     : "Launched in " + session.launchMode + " mode: nothing is recorded.");
    } catch (e) {
      show("error", String(e.message || e));
    }
  }

  // Leaving the page without submitting still ends the session.
  window.addEventListener("pagehide", function () {
    if (session && session.token && !terminated) {
      terminated = true;
      send(statement("terminated", null, "cmi5", { duration: duration(session.started) }), true).catch(function () {});
    }
  });

  launch();
})();
)js";

}  // namespace

std::string_view cmi5AuScript() {
  return kScript;
}

}  // namespace pso::controller::scenarios
