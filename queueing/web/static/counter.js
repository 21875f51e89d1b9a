// The counter console: choose a counter, then work it with buttons or keys. Everything goes through
// the API; the page refreshes its counters and queue counts every few seconds.
"use strict";

(() => {
  const REFRESH_MS = 3000;
  const $ = (id) => document.getElementById(id);
  const state = { me: null, centre: null, services: {}, counters: [], status: null, counter: null, busy: false };
  const name = (text) => (text ? text[Dor.lang] || text.ar : "");
  const { local, count, join } = DorWords;

  const base = () => `/api/v1/centres/${state.centre}`;

  async function load() {
    state.me = await Dor.me();
    Dor.watchSession();
    const centres = state.me.centres;
    const chosen = sessionStorage.getItem("dor.centre");
    state.centre = centres.includes(chosen) ? chosen : centres[0];
    if (centres.length > 1) {
      const select = $("centre-select");
      select.innerHTML = centres.map((c) => `<option value="${c}">${c}</option>`).join("");
      select.value = state.centre;
      select.hidden = $("centre-select-label").hidden = false;
      select.addEventListener("change", async () => {
        state.centre = select.value;
        sessionStorage.setItem("dor.centre", state.centre);
        state.counter = null;
        await loadCentre();
      });
    }
    await loadCentre();
    setInterval(() => refresh(true), REFRESH_MS);
  }

  async function loadCentre() {
    const services = await Dor.api("GET", `${base()}/services`, undefined, { background: true });
    state.services = Object.fromEntries(services.map((s) => [s.code, s]));
    $("centre-name").textContent = state.centre;
    await refresh(true);
    // Coming back after a sign-in: the counter this person holds is still theirs.
    const held = state.counters.find((c) => c.agent === state.me.username);
    if (held) state.counter = held.number;
    render();
  }

  async function refresh(background) {
    const [counterBefore, quiet] = [state.counter, !state.busy];
    try {
      [state.counters, state.status] = await Promise.all([
        Dor.api("GET", `${base()}/counters`, undefined, { background }),
        Dor.api("GET", `${base()}/status`, undefined, { background }),
      ]);
      // Only from a list read while this page changed nothing: it is not older than its own actions.
      if (quiet && !state.busy && state.counter === counterBefore) follow();
      render();
    } catch (error) {
      if (error.code === "offline") Dor.toast(Dor.t("offline"), "error");
    }
  }

  // A supervisor may close this counter, or move its agent to another, from the wallboard: the
  // console follows to the counter this person now holds, or back to the choice, and says so.
  function follow() {
    if (state.counter === null) return;
    const held = state.counters.find((c) => c.agent === state.me.username);
    if (held && held.number === state.counter) return;
    state.counter = held ? held.number : null;
    Dor.toast(held ? `${Dor.t("moved_to")} ${local(held.number)}` : Dor.t("closed_by_supervisor"));
  }

  function current() { return state.counters.find((c) => c.number === state.counter) || null; }

  function render() {
    const counter = current();
    const working = counter && counter.agent === state.me.username;
    $("choose").hidden = Boolean(working);
    $("desk").hidden = !working;
    if (working) renderDesk(counter); else renderChoice();
  }

  function renderChoice() {
    $("counter-list").innerHTML = "";
    for (const c of state.counters) {
      const li = document.createElement("li");
      li.className = "counter-card";
      const services = c.services.map((code) => name(state.services[code]?.name) || code).join("، ");
      li.innerHTML = `<div><strong></strong> <span class="pill"></span><p class="muted"></p></div>`;
      li.querySelector("strong").textContent = c.label || `${Dor.t("counter")} ${local(c.number)}`;
      li.querySelector(".pill").textContent = Dor.t(c.status) + (c.agent ? ` — ${Dor.t("held_by")} ${c.agent}` : "");
      li.querySelector("p").textContent = services;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "primary";
      button.textContent = Dor.t("take");
      button.disabled = Boolean(c.agent && c.agent !== state.me.username);
      button.addEventListener("click", () => act("open", undefined, c.number));
      li.appendChild(button);
      $("counter-list").appendChild(li);
    }
  }

  function renderDesk(counter) {
    $("desk-number").textContent = local(counter.number);
    $("desk-status").textContent = Dor.t(counter.status) + (counter.paused_reason ? ` — ${Dor.t("reason_" + counter.paused_reason)}` : "");
    $("desk-status").dataset.status = counter.status;
    const pauseLabel = $("pause-label");
    pauseLabel.textContent = counter.status === "paused" ? pauseLabel.dataset.resume : pauseLabel.dataset.pause;
    const ticket = counter.ticket;
    $("ticket-number").textContent = ticket ? local(ticket.number) : "—";
    const service = ticket ? state.services[ticket.service] : null;
    $("ticket-service").textContent = service ? name(service.name) : Dor.t("no_ticket");
    $("ticket-meta").textContent = ticket
      ? join([Dor.t(ticket.status), count(Dor.t("calls"), ticket.calls), ticket.priority !== "none" ? Dor.t("priority_" + ticket.priority) : ""])
      : "";
    $("documents").hidden = !service;
    $("document-list").innerHTML = "";
    for (const doc of service ? service.required_documents : []) {
      const li = document.createElement("li");
      li.innerHTML = `<label><input type="checkbox"> <span></span></label>`;
      li.querySelector("span").textContent = name(doc);
      $("document-list").appendChild(li);
    }
    const queues = $("queue-counts");
    queues.innerHTML = "";
    for (const code of counter.services) {
      const row = (state.status.services || []).find((s) => s.code === code);
      const tr = document.createElement("tr");
      tr.innerHTML = "<th></th><td></td>";
      tr.querySelector("th").textContent = name(state.services[code]?.name) || code;
      tr.querySelector("td").textContent = local(row ? row.waiting : 0);
      queues.appendChild(tr);
    }
    const inHand = Boolean(ticket);
    const enable = (action, on) => { document.querySelector(`[data-action="${action}"]`).disabled = !on; };
    const ready = counter.status === "open" && !inHand;
    enable("next", ready);
    enable("call", ready);
    enable("recall", inHand && ticket.status === "called");
    enable("start", inHand && ticket.status === "called");
    enable("finish", inHand && ticket.status === "serving");
    enable("no-show", inHand && ticket.status === "called");
    enable("transfer", inHand);
    enable("pause", !inHand);
    $("close-counter").disabled = inHand;
    state.ticket = ticket;
  }

  function tick() {
    const ticket = state.ticket;
    if (!ticket) { $("ticket-timer").textContent = ""; return; }
    const since = ticket.status === "serving" ? ticket.started_at : ticket.called_at;
    if (!since) return;
    const label = ticket.status === "serving" ? Dor.t("since_start") : Dor.t("since_call");
    $("ticket-timer").textContent = `${local(Dor.seconds((Date.now() - Date.parse(since)) / 1000))} ${label}`;
  }

  async function act(action, body, number = state.counter) {
    if (state.busy) return;
    state.busy = true;
    try {
      const result = await Dor.api("POST", `${base()}/counters/${number}/${action}`, body);
      if (action === "open") state.counter = number;
      if (action === "close") state.counter = null;
      if (result === null && action === "next") Dor.toast(Dor.t("nobody"));
      await refresh(false);
    } catch (error) {
      // The server words its refusals in the page's language (Accept-Language); the digits are the page's.
      if (error.status !== 401) Dor.toast(local(error.message), "error");
    } finally {
      state.busy = false;
    }
  }

  function openTransfer() {
    const box = $("transfer-services");
    box.innerHTML = "";
    for (const code of Object.keys(state.services)) {
      if (state.ticket && code === state.ticket.service) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "choice";
      button.textContent = name(state.services[code].name);
      button.addEventListener("click", () => { $("transfer-dialog").close(); act("transfer", { service: code }); });
      box.appendChild(button);
    }
    $("transfer-dialog").showModal();
  }

  function press(action) {
    const button = document.querySelector(`[data-action="${action}"]`);
    if (!button || button.disabled) return;
    if (action === "transfer") return openTransfer();
    if (action === "call") { $("call-dialog").showModal(); $("call-number").focus(); return; }
    if (action === "pause") {
      const counter = current();
      if (counter && counter.status === "paused") return act("resume");
      return $("pause-dialog").showModal();
    }
    act(action);
  }

  document.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", () => press(b.dataset.action)));
  document.querySelectorAll("#pause-dialog [data-reason]").forEach((b) => {
    b.textContent = Dor.t("reason_" + b.dataset.reason);
    b.addEventListener("click", () => { $("pause-dialog").close(); act("pause", { reason: b.dataset.reason }); });
  });
  $("call-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const digits = "٠١٢٣٤٥٦٧٨٩";
    const number = $("call-number").value.trim().toUpperCase().replace(/[٠-٩]/g, (d) => digits.indexOf(d));
    $("call-dialog").close();
    act("call", { number, reason: $("call-reason").value.trim() });
    $("call-form").reset();
  });
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));
  $("close-counter").addEventListener("click", () => act("close"));

  // Keys by physical position (event.code), so they work on an Arabic keyboard layout too.
  const KEYS = { KeyN: "next", KeyR: "recall", KeyS: "start", KeyF: "finish", KeyX: "no-show", KeyT: "transfer", KeyC: "call", KeyP: "pause" };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, dialog")) return;
    const action = KEYS[event.code];
    if (action && !$("desk").hidden) { event.preventDefault(); press(action); }
  });

  setInterval(tick, 1000);
  load().catch((error) => Dor.toast(error.message, "error"));
})();
