// The twinsync web console: a thin client of the node's admin API (/api/v1). The API token
// (or the session token a user's login gets) lives in this tab's sessionStorage and goes in the Authorization header of every call, so
// no cookie is ever sent on its own and forms cannot be forged from another site. Every
// value from the API is put on the page as text, never as markup.
"use strict";

const TABS = ["connections", "rules", "triggers", "statistics", "info", "errors"];
const $ = (id) => document.getElementById(id);

function token() {
  return sessionStorage.getItem("twinsync-token") || "";
}

function say(text, kind) {
  const m = $("message");
  m.textContent = text || "";
  m.className = kind || "";
}

class ApiError extends Error {}

async function api(method, path, body) {
  const init = { method, headers: { Authorization: "Bearer " + token() } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch("/api/v1" + path, init);
  if (r.status === 401) {
    sessionStorage.removeItem("twinsync-token");
    show();
    sessionStorage.removeItem("twinsync-session");
    throw new ApiError("the token was refused or the login expired: log in again");
  }
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    throw new ApiError((data && data.error) || r.status + " " + r.statusText);
  }
  return data;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.appendChild(td);
  return td;
}

function button(parent, label, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => run(action));
  parent.appendChild(b);
  return b;
}

// Runs an action, showing its outcome (or its error) in the message line.
async function run(action) {
  try {
    const done = await action();
    if (typeof done === "string") say(done, "ok");
  } catch (e) {
    say(e.message, "error");
  }
}

let connections = [];

async function loadConnections() {
  connections = await api("GET", "/connections");
  for (const select of document.querySelectorAll(".connection-choice")) {
    const keep = select.value;
    select.replaceChildren();
    for (const c of connections) {
      const o = document.createElement("option");
      o.value = c.id;
      o.textContent = c.name + " (" + c.status + ")";
      select.appendChild(o);
    }
    if (keep && connections.some((c) => c.id === keep)) select.value = keep;
  }
}

async function showConnections() {
  await loadConnections();
  const body = $("connections-table").tBodies[0];
  body.replaceChildren();
  for (const c of connections) {
    const tr = document.createElement("tr");
    tr.dataset.id = c.id;
    cell(tr, c.name);
    cell(tr, c.status).className = "status";
    cell(tr, c.mode);
    cell(tr, (c.remote_instance || "") + " " + c.remote_url);
    cell(tr, c.id);
    const actions = cell(tr, "");
    if (c.status === "active") {
      button(actions, "Deactivate", async () => {
        await api("POST", "/connections/" + c.id + "/deactivate");
        await showConnections();
        return c.name + " is inactive: changes queue until it is activated";
      });
    } else if (c.status === "inactive") {
      button(actions, "Activate", async () => {
        await api("POST", "/connections/" + c.id + "/activate");
        await showConnections();
        return c.name + " is active";
      });
    }
    button(actions, "Delete", async () => {
      const typed = prompt(
        "Deleting removes " + c.name + " with its twins, queues and errors. Type its name to confirm:"
      );
      if (typed === null) return "nothing deleted";
      if (typed.trim() !== c.name) return "nothing deleted: the name typed is not " + c.name;
      await api("DELETE", "/connections/" + c.id + "?confirm=" + encodeURIComponent(typed.trim()));
      await showConnections();
      return c.name + " deleted";
    });
    body.appendChild(tr);
  }
}

function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === "checkbox" ? el.checked : el.value.trim();
  }
  return out;
}

async function showRules() {
  await loadConnections();
  const id = $("rules-connection").value;
  for (const form of [$("outgoing-form"), $("incoming-form")]) {
    const version = form.querySelector(".rule-version");
    if (!id) {
      form.elements.source.value = "";
      version.textContent = "";
      continue;
    }
    const r = await api("GET", "/connections/" + id + "/rules/" + form.dataset.direction);
    form.elements.source.value = r.source;
    version.textContent = r.default ? "(default rule)" : "(version " + r.version + " by " + r.published_by + ")";
  }
}

async function showTriggers() {
  await loadConnections();
  const id = $("triggers-connection").value;
  const body = $("triggers-table").tBodies[0];
  body.replaceChildren();
  if (!id) return;
  for (const t of await api("GET", "/connections/" + id + "/triggers")) {
    const tr = document.createElement("tr");
    cell(tr, t.id);
    cell(tr, t.entity_type);
    cell(tr, t.query);
    cell(tr, t.notes);
    cell(tr, t.active ? "yes" : "no");
    button(cell(tr, ""), "Bulk exalate", async () => {
      say("bulk exalate of trigger " + t.id + " running…");
      const p = await api("POST", "/triggers/" + t.id + "/bulk-exalate");
      return "bulk exalate: " + p.matched + " matched, " + p.queued + " queued";
    });
    body.appendChild(tr);
  }
}

async function showStatistics() {
  await loadConnections();
  const root = $("statistics");
  root.replaceChildren();
  for (const c of connections) {
    const s = await api("GET", "/connections/" + c.id + "/stats");
    const box = document.createElement("div");
    box.className = "stats";
    box.dataset.id = c.id;
    const h = document.createElement("h2");
    h.textContent = c.name;
    box.appendChild(h);
    const dl = document.createElement("dl");
    for (const [k, v] of [
      ["Twins", s.twins],
      ["Outbox (to send)", s.outbox],
      ["Inbox (to apply)", s.inbox],
      ["Open errors", s.open_errors],
      ["Platform API calls", s.api_calls.requests],
    ]) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = String(v);
      dd.dataset.measure = k;
      dl.append(dt, dd);
    }
    box.appendChild(dl);
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const t of ["Local", "Remote", "Last synced"]) cell(head, t);
    const tb = table.createTBody();
    for (const r of s.recent) {
      const tr = tb.insertRow();
      const side = (x) => (x ? x.type + " " + (x.number || x.key) : "");
      cell(tr, side(r.local));
      const remote = cell(tr, "");
      if (r.remote && /^https?:/.test(r.remote.url || "")) {
        const a = document.createElement("a");
        a.href = r.remote.url;
        a.textContent = side(r.remote);
        remote.appendChild(a);
      } else {
        remote.textContent = side(r.remote);
      }
      cell(tr, new Date(r.updated_at).toLocaleString());
    }
    box.appendChild(table);
    root.appendChild(box);
  }
  if (!connections.length) root.textContent = "No connections yet.";
}

async function showInfo() {
  const i = await api("GET", "/info");
  const dl = $("info");
  dl.replaceChildren();
  for (const [k, v] of [
    ["Instance", i.instance],
    ["Node URL", i.url],
    ["Platform", i.platform_name],
    ["Entity types", i.entity_types.join(", ")],
    ["Integration user", i.integration_user.display_name + " (" + i.integration_user.user_name + ")"],
    ["Poll interval", i.poll_interval_ms + " ms"],
    ["Push", i.push ? "on (POST /hooks/<token>)" : "off (polling only)"],
    ["Platform API calls", i.api_calls.requests],
    ["Version", i.product + " " + i.version],
    ["Logged in as", i.token],
  ]) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = String(v);
    dl.append(dt, dd);
  }
}

async function showErrors() {
  const list = await api("GET", "/errors");
  const body = $("errors-table").tBodies[0];
  body.replaceChildren();
  $("no-errors").hidden = list.length > 0;
  for (const e of list) {
    const tr = document.createElement("tr");
    tr.dataset.id = e.id;
    cell(tr, e.id);
    cell(tr, e.connection_id);
    cell(tr, e.entity);
    cell(tr, e.rule_version);
    cell(tr, e.location);
    cell(tr, e.message);
    cell(tr, e.attempts);
    cell(tr, new Date(e.last_seen).toLocaleString());
    const actions = cell(tr, "");
    button(actions, "Retry", async () => {
      await api("POST", "/errors/" + e.id + "/retry");
      await showErrors();
      return "error " + e.id + ": applied again";
    });
    button(actions, "Resolve", async () => {
      await api("POST", "/errors/" + e.id + "/resolve");
      await showErrors();
      return "error " + e.id + " resolved: the failed change is skipped";
    });
    body.appendChild(tr);
  }
}

const SHOW = {
  connections: showConnections,
  rules: showRules,
  triggers: showTriggers,
  statistics: showStatistics,
  info: showInfo,
  errors: showErrors,
};

function current() {
  const t = location.hash.replace("#", "");
  return TABS.includes(t) ? t : "connections";
}

// Shows the login form without a token, else the tab the address names.
function show() {
  const loggedIn = token() !== "";
  $("login-view").hidden = loggedIn;
  $("tabs").hidden = !loggedIn;
  const tab = current();
  for (const t of TABS) {
    $(t + "-view").hidden = !loggedIn || t !== tab;
    const link = document.querySelector('[data-tab="' + t + '"]');
    if (link) link.classList.toggle("current", t === tab);
  }
  if (loggedIn) run(SHOW[tab]);
}

function wire() {
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const user = $("login-user").value.trim();
    const password = $("login-password").value;
    const apiToken = $("login-token").value.trim();
    $("login-password").value = "";
    $("login-token").value = "";
    run(async () => {
      if (user !== "") {
        // A user's password buys a session token, used from then on like an API token.
        const r = await fetch("/api/v1/login", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ user, password }),
        });
        const data = await r.json().catch(() => null);
        if (!r.ok) throw new ApiError((data && data.error) || r.status + " " + r.statusText);
        sessionStorage.setItem("twinsync-token", data.token);
        sessionStorage.setItem("twinsync-session", "1");
      } else if (apiToken !== "") {
        sessionStorage.setItem("twinsync-token", apiToken);
        sessionStorage.removeItem("twinsync-session");
      } else {
        throw new ApiError("give a user and password, or an API token");
      }
      const i = await api("GET", "/info");
      $("node-name").textContent = i.instance + " · " + i.platform_name;
      show();
      return "logged in as " + i.token;
    });
  });
  $("logout").addEventListener("click", async () => {
    if (sessionStorage.getItem("twinsync-session")) {
      // End the session on the node too; the page forgets it whatever the answer.
      await fetch("/api/v1/logout", {
        method: "POST",
        headers: { Authorization: "Bearer " + token() },
      }).catch(() => null);
    }
    sessionStorage.removeItem("twinsync-token");
    sessionStorage.removeItem("twinsync-session");
    say("logged out");
    show();
  });
  $("initiate-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    run(async () => {
      const r = await api("POST", "/connections", {
        remote_url: v.remote_url,
        mode: v.mode,
        name: v.name || null,
        description: v.description,
      });
      $("invitation-code").value = r.invitation_code;
      await showConnections();
      return r.connection.name + " is pending: give the invitation code to the other side";
    });
  });
  $("accept-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    run(async () => {
      const c = await api("POST", "/connections/accept", { code: v.code });
      ev.target.reset();
      await showConnections();
      return c.name + " is " + c.status;
    });
  });
  for (const form of [$("outgoing-form"), $("incoming-form")]) {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const id = $("rules-connection").value;
      run(async () => {
        const r = await api("PUT", "/connections/" + id + "/rules/" + form.dataset.direction, {
          source: form.elements.source.value,
        });
        await showRules();
        return form.dataset.direction + " rule version " + r.version + " published";
      });
    });
  }
  $("trigger-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    const id = $("triggers-connection").value;
    run(async () => {
      const t = await api("POST", "/connections/" + id + "/triggers", v);
      await showTriggers();
      return "trigger " + t.id + " added: matching changes sync from now on";
    });
  });
  $("exalate-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    const id = $("triggers-connection").value;
    run(async () => {
      await api("POST", "/connections/" + id + "/exalate", v);
      return v.entity_type + " " + v.key + " queued";
    });
  });
  for (const id of ["rules-connection", "triggers-connection"]) {
    $(id).addEventListener("change", () => show());
  }
  window.addEventListener("hashchange", () => {
    say("");
    show();
  });
  if (token()) {
    api("GET", "/info")
      .then((i) => ($("node-name").textContent = i.instance + " · " + i.platform_name))
      .catch(() => {});
  }
  show();
}

document.addEventListener("DOMContentLoaded", wire);
