// A centre's counters and the queues each serves: one form per counter, a role and a weight per
// service the centre offers, sent whole with a reason (PUT …/counters/{n}/services); the server's
// answer is shown under the form, then the counters are read back. The counter plan, when the centre
// has history, is offered beside each counter as a suggestion to put in the form.
"use strict";

(() => {
  const root = document.getElementById("counters");
  const base = `/api/v1/centres/${root.dataset.centre}`;
  const { local, join } = DorWords;
  const WEIGHTS = [0.25, 0.5, 0.75, 1];
  const number = new Intl.NumberFormat(Dor.lang === "ar" ? "ar-SY" : "en-GB", {
    maximumFractionDigits: 2, numberingSystem: DorWords.arabic ? "arab" : "latn",
  });
  let services = []; // the centre's, with their names
  let plan = {}; // counter number -> its planned {services, backups}

  function element(tag, props = {}, children = []) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }

  // A weight's choice, named by its service's row and the weight's column.
  function weightChoice(id, value, labelledBy) {
    const select = element("select", { id });
    select.setAttribute("aria-labelledby", labelledBy);
    const weights = WEIGHTS.includes(value) ? WEIGHTS : [...WEIGHTS, value].sort((a, b) => a - b);
    for (const w of weights) select.append(new Option(number.format(w), String(w), false, w === value));
    return select;
  }

  // The role and weight of each service in the form of counter `n`: {code: {role, weight}}.
  function setRows(n, queues) {
    for (const s of services) {
      const role = document.getElementById(`c${n}-${s.code}-role`);
      const weight = document.getElementById(`c${n}-${s.code}-weight`);
      const q = queues[s.code] || { role: "", weight: 1 };
      role.value = q.role;
      weight.replaceWith(weightChoice(weight.id, q.weight, weight.getAttribute("aria-labelledby")));
      document.getElementById(weight.id).disabled = !q.role;
    }
  }

  function queuesOf(counter) {
    const queues = {};
    for (const code of counter.services) {
      const backup = counter.backup_services.includes(code) || counter.boosted.includes(code);
      queues[code] = { role: backup ? "backup" : "own", weight: counter.weights[code] ?? 1 };
    }
    return queues;
  }

  function say(box, text, kind) {
    box.textContent = text;
    box.className = kind === "error" ? "error" : "muted";
    box.hidden = !text;
  }

  const same = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

  // The plan's queues for counter `n` with a button that puts them in its form; none when the plan
  // is what the counter serves already.
  function suggestion(n) {
    const planned = plan[n];
    if (!planned || (same(planned.services, planned.now.services) && same(planned.backups, planned.now.backups))) {
      return null;
    }
    const name = (code) => services.find((s) => s.code === code)?.name[Dor.lang] || code;
    const names = (weights) => join(Object.keys(weights).map(name));
    const backups = Object.keys(planned.backups).length ? `${Dor.t("backup")}: ${names(planned.backups)}` : "";
    const text = [names(planned.services), backups].filter(Boolean).join(Dor.lang === "ar" ? "؛ " : "; ");
    const apply = element("button", { type: "button", className: "secondary", textContent: Dor.t("apply") });
    const status = document.getElementById(`c${n}-status`);
    apply.addEventListener("click", () => {
      const queues = {};
      for (const [code, w] of Object.entries(planned.services)) queues[code] = { role: "own", weight: w };
      for (const [code, w] of Object.entries(planned.backups)) queues[code] = { role: "backup", weight: w };
      setRows(n, queues);
      say(status, Dor.t("suggestion_applied"));
    });
    return element("p", { className: "muted" }, [`${Dor.t("suggested")} ${text} `, apply]);
  }

  function counterForm(counter) {
    const n = counter.number;
    const id = (what) => `c${n}-${what}`;
    const head = element("tr", {}, [
      element("th", { scope: "col", id: id("service"), textContent: Dor.t("service") }),
      element("th", { scope: "col", id: id("serves"), textContent: Dor.t("serves") }),
      element("th", { scope: "col", id: id("weight"), textContent: Dor.t("weight") }),
    ]);
    const rows = services.map((s) => {
      const role = element("select", { id: id(`${s.code}-role`) }, [
        new Option(Dor.t("not_served"), ""), new Option(Dor.t("own"), "own"), new Option(Dor.t("backup"), "backup"),
      ]);
      role.setAttribute("aria-labelledby", `${id(`${s.code}-name`)} ${id("serves")}`);
      role.addEventListener("change", () => { document.getElementById(id(`${s.code}-weight`)).disabled = !role.value; });
      const weight = weightChoice(id(`${s.code}-weight`), 1, `${id(`${s.code}-name`)} ${id("weight")}`);
      const cell = element("td", {}, [weight]);
      const note = counter.boosted.includes(s.code)
        ? [element("span", { className: "muted", textContent: ` (${Dor.t("boosted")})` })] : [];
      return element("tr", {}, [
        element("th", { scope: "row", id: id(`${s.code}-name`), textContent: s.name[Dor.lang] || s.name.ar }, note),
        element("td", {}, [role]), cell,
      ]);
    });
    const title = [`${Dor.t("counter")} ${local(n)}`, counter.label].filter(Boolean).join(" — ");
    const state = join([Dor.t(counter.status), counter.agent || ""]);
    const reason = element("input", {
      id: id("reason"), required: true, minLength: 3, maxLength: 200, autocomplete: "off",
    });
    reason.setAttribute("aria-describedby", id("reason-error"));
    const form = element("form", { noValidate: true }, [
      element("table", {}, [element("thead", {}, [head]), element("tbody", {}, rows)]),
      element("label", { htmlFor: id("reason"), textContent: Dor.t("reason") }),
      reason,
      element("p", { id: id("reason-error"), className: "error", hidden: true }),
      element("button", { type: "submit", className: "primary", id: id("save"), textContent: Dor.t("save") }),
      element("p", { id: id("status"), role: "status", hidden: true }),
    ]);
    const section = element("section", { className: "panel" }, [
      element("h2", { id: id("title"), textContent: title }),
      element("p", { className: "muted", id: id("state"), textContent: state }),
      form,
    ]);
    section.dataset.counter = n;
    section.setAttribute("aria-labelledby", id("title"));
    form.addEventListener("submit", (event) => { event.preventDefault(); save(n); });
    return section;
  }

  async function save(n) {
    const status = document.getElementById(`c${n}-status`);
    const reasonError = document.getElementById(`c${n}-reason-error`);
    say(status, "");
    say(reasonError, "", "error");
    const body = { services: {}, backups: {}, reason: document.getElementById(`c${n}-reason`).value.trim() };
    for (const s of services) {
      const role = document.getElementById(`c${n}-${s.code}-role`).value;
      const weight = Number(document.getElementById(`c${n}-${s.code}-weight`).value);
      if (role) body[role === "own" ? "services" : "backups"][s.code] = weight;
    }
    const button = document.getElementById(`c${n}-save`);
    button.disabled = true;
    try {
      const answer = await Dor.api("PUT", `${base}/counters/${n}/services`, body);
      await list();
      const after = document.getElementById(`c${n}-status`);
      say(after, Dor.t(answer.applied ? "saved" : "unchanged"));
    } catch (error) {
      if (error.status === 401) return;
      if (error.field === "reason") {
        say(reasonError, local(error.message), "error");
        document.getElementById(`c${n}-reason`).focus();
      } else {
        say(status, local(error.message), "error");
      }
    } finally {
      button.disabled = false;
    }
  }

  async function list() {
    await readPlan();
    try {
      const counters = await Dor.api("GET", `${base}/counters`, undefined, { background: true });
      root.replaceChildren(...counters.map(counterForm));
      for (const counter of counters) {
        setRows(counter.number, queuesOf(counter));
        const hint = suggestion(counter.number);
        if (hint) document.getElementById(`c${counter.number}-state`).after(hint);
      }
    } catch (error) {
      if (error.status === 0) Dor.toast(Dor.t("offline"), "error");
    }
  }

  // The plan needs ticket history: without it (409 no_plan) there is simply no suggestion.
  async function readPlan() {
    try {
      const { counters } = await Dor.api("GET", `${base}/counter-plan`, undefined, { background: true });
      plan = Object.fromEntries(counters.map((c) => [c.counter, c]));
    } catch (error) {
      plan = {};
    }
  }

  Dor.me().then(async () => {
    Dor.watchSession();
    services = await Dor.api("GET", `${base}/services`, undefined, { background: true });
    await list();
  });
})();
