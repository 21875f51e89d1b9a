// The kiosk: touch first. Choose a service (priority and SMS optional), get a ticket with a QR code,
// or check in an appointment. Every request carries an Idempotency-Key, so a double tap or a retry
// never makes two tickets. Offline, it says so and issues nothing; it recovers by itself.
"use strict";

(() => {
  const root = document.getElementById("kiosk");
  const centre = root.dataset.centre;
  const lang = root.dataset.lang;
  const text = JSON.parse(document.getElementById("kiosk-text").textContent);
  const $ = (id) => document.getElementById(id);
  const IDLE_MS = 45000, WARN_MS = 15000;
  const { local } = Dor;
  const params = new URLSearchParams(location.search);
  if (params.get("token")) {
    localStorage.setItem("dor.kiosk.token", params.get("token"));
    params.delete("token");
    history.replaceState(null, "", `${location.pathname}${params.size ? "?" + params : ""}`);
  }
  const token = () => localStorage.getItem("dor.kiosk.token") || "";
  const state = { service: null, priority: "none", phone: "", intent: null, ticket: null };

  // Every request carries the kiosk's device token (citizen.js makes the call); offline, or not yet
  // registered, the kiosk says so.
  async function call(method, url, body, headers = {}) {
    try {
      return await Dor.call(method, url, body, { Authorization: `Bearer ${token()}`, ...headers });
    } catch (error) {
      if (error.status === 0) goOffline();
      if (error.status === 401) $("unregistered").hidden = false;
      throw error;
    }
  }

  // --- steps ---
  function show(step) {
    document.querySelectorAll(".step").forEach((s) => { s.hidden = s.id !== `step-${step}`; });
    const heading = $(`step-${step}`).querySelector("h2");
    if (heading) { heading.tabIndex = -1; heading.focus(); }
    touch();
  }

  function reset() {
    Object.assign(state, { service: null, priority: "none", phone: "", intent: null, ticket: null });
    $("phone").textContent = "";
    $("code").value = "";
    $("phone-error").hidden = $("code-error").hidden = true;
    show("services");
    loadServices();
  }

  async function loadServices() {
    try {
      const [services, status] = await Promise.all([
        call("GET", `/api/v1/centres/${centre}/services`),
        call("GET", `/api/v1/centres/${centre}/status`),
      ]);
      const waits = Object.fromEntries(status.services.map((s) => [s.code, s]));
      const list = $("services");
      list.innerHTML = "";
      for (const service of services.filter((s) => s.walk_in)) {
        const row = waits[service.code] || { waiting: 0, estimated_wait_s: 0 };
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "service";
        button.dataset.service = service.code;
        button.innerHTML = '<span class="icon" aria-hidden="true"></span><span class="name"></span><span class="wait"></span>';
        button.querySelector(".icon").textContent = service.code;
        button.querySelector(".name").textContent = service.name[lang] || service.name.ar;
        button.querySelector(".wait").textContent = row.intake_open === false ? text.intake_stopped
          : row.waiting === 0 ? text.no_wait
          : `${local(row.waiting)} ${text.waiting} · ${local(Math.max(1, Math.round(row.estimated_wait_s / 60)))} ${text.minutes}`;
        button.disabled = row.intake_open === false;
        button.addEventListener("click", () => chooseService(service.code));
        li.appendChild(button);
        list.appendChild(li);
      }
    } catch (error) { /* offline or unregistered: the overlay says so */ }
  }

  function chooseService(code) {
    state.service = code;
    state.intent = crypto.randomUUID();
    suggestNearby(code);
    if (root.dataset.allowsPriority === "yes") show("priority"); else show("phone");
  }

  // A nearby centre where the same service is much quicker (half the wait, a quarter of an hour
  // saved with the way there counted) is named; the ticket is still taken here if the citizen wants.
  const TRAVEL_S_PER_KM = 180, SAVES_S = 900;
  async function suggestNearby(code) {
    $("nearby").hidden = true;
    const where = `lat=${root.dataset.lat}&lon=${root.dataset.lon}`;
    let ranked;
    try {  // optional: a failure here says nothing (the ticket request will, if the server is gone)
      const response = await fetch(`/api/v1/recommendations?service=${code}&${where}`);
      if (!response.ok) return;
      ranked = await response.json();
    } catch (error) { return; }
    const here = ranked.find((r) => r.centre === centre);
    const best = ranked.find((r) => r.centre !== centre && r.open);
    if (!here || !best || state.service !== code) return;
    const cost = (r) => r.distance_km * TRAVEL_S_PER_KM + r.estimated_wait_s;
    if (best.estimated_wait_s * 2 > here.estimated_wait_s || cost(here) - cost(best) < SAVES_S) return;
    const wait = (s) => (s < 60 ? text.no_wait : `${local(Math.round(s / 60))} ${text.minutes}`);
    // A comma, not a middle dot: next to Arabic-Indic digits a dot reads as a zero (٠).
    const comma = lang === "ar" ? "،" : ",";
    $("nearby-text").textContent = `${text.nearby}: ${best.name[lang] || best.name.ar} (${local(best.distance_km)} ${text.km})`
      + `${comma} ${wait(best.estimated_wait_s)}${comma} ${text.here}: ${wait(here.estimated_wait_s)}`;
    // Or take the ticket there from a phone, on the way: the QR leads to that centre's remote page.
    $("nearby-qr").src = `/remote/${encodeURIComponent(best.centre)}/qr.svg`;
    $("nearby").hidden = false;
  }

  async function issue() {
    const body = { service: state.service, channel: "kiosk", priority: state.priority, language: lang };
    if (state.phone) body.phone = state.phone;
    try {
      const ticket = await call("POST", `/api/v1/centres/${centre}/tickets`, body, { "Idempotency-Key": state.intent });
      showTicket(ticket);
    } catch (error) {
      if (error.code === "invalid_input" && state.phone) {
        $("phone-error").textContent = text.bad_phone;
        $("phone-error").hidden = false;
        state.intent = crypto.randomUUID();
        return;
      }
      if (error.status === 0 || error.status === 401) return;
      alert(text[error.code] || (error.code === "centre_closed" ? text.closed : text.error));
      reset();
    }
  }

  function showTicket(ticket) {
    state.ticket = ticket;
    const service = $("services").querySelector(`[data-service="${ticket.service}"] .name`);
    $("t-service").textContent = service ? service.textContent : ticket.service;
    $("t-number").textContent = ticket.number;
    $("t-ahead").textContent = `${text.ahead}: ${local(ticket.ahead ?? 0)}`;
    const minutes = (seconds) => local(Math.max(1, Math.round(seconds / 60)));
    const [low, high] = ticket.estimated_wait_range_s || [0, 0];
    const span = high > 0 ? ` (${local(Math.round(low / 60))}–${minutes(high)})` : "";
    $("t-wait").textContent = `${text.wait}: ${minutes(ticket.estimated_wait_s || 0)} ${text.minutes}${span}`;
    $("t-qr").src = `/api/v1/tickets/${ticket.token}/qr.svg`;
    root.dataset.ticket = ticket.number;
    show("ticket");
  }

  async function printTicket() {
    try {
      await call("POST", `/api/v1/tickets/${state.ticket.token}/print`);
    } catch (error) {
      if (error.status === 0 || error.status === 401) return;
      window.print(); // no thermal printer here: the print stylesheet formats the ticket
    }
  }

  async function checkIn() {
    const code = $("code").value.trim();
    if (!code) return;
    try {
      const ticket = await call("POST", `/api/v1/centres/${centre}/check-in`, { code });
      showTicket(ticket);
    } catch (error) {
      if (error.status === 0 || error.status === 401) return;
      $("code-error").textContent = text[error.code] || text.error;
      $("code-error").hidden = false;
    }
  }

  // --- on-screen keypads: digits shown in the kiosk's language, letters of appointment codes ---
  function keypad(pad) {
    const letters = pad.classList.contains("letters");
    const keys = [...(letters ? "ACDEFGHJKMNPQRTUVWXY" : ""), ..."1234567890", "⌫"];
    for (const key of keys) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "key";
      const digit = /[0-9]/.test(key);
      button.textContent = digit ? local(key) : key;
      button.setAttribute("aria-label", key === "⌫" ? "delete" : key);
      button.addEventListener("click", () => {
        const target = $(pad.dataset.target);
        const current = target.value !== undefined && target.tagName === "INPUT" ? target.value : target.textContent;
        const next = key === "⌫" ? current.slice(0, -1) : (current + key).slice(0, 20);
        if (target.tagName === "INPUT") target.value = next; else target.textContent = next;
        if (pad.dataset.target === "phone") state.phone = next;
        touch();
      });
      pad.appendChild(button);
    }
  }

  // --- returning to the start when left alone, with a warning first (WCAG 2.2.1) ---
  let idleTimer = null, warnTimer = null;
  function touch() {
    clearTimeout(idleTimer);
    clearTimeout(warnTimer);
    $("timeout-warning").hidden = true;
    if ($("step-services").hidden === false) return;
    warnTimer = setTimeout(() => { $("timeout-warning").hidden = false; $("stay").focus(); }, IDLE_MS - WARN_MS);
    idleTimer = setTimeout(reset, IDLE_MS);
  }

  // --- offline: say so in both languages, issue nothing, come back by itself ---
  let offlineTimer = null;
  function goOffline() {
    $("offline").hidden = false;
    if (offlineTimer) return;
    offlineTimer = setInterval(async () => {
      try {
        if ((await fetch("/healthz")).ok) {
          clearInterval(offlineTimer);
          offlineTimer = null;
          $("offline").hidden = true;
          reset();
        }
      } catch (error) { /* still offline */ }
    }, 3000);
  }

  // --- wiring ---
  document.querySelectorAll(".keypad").forEach(keypad);
  document.querySelectorAll("button[data-priority]").forEach((b) => b.addEventListener("click", () => {
    state.priority = b.dataset.priority;
    show("phone");
  }));
  document.querySelectorAll(".back").forEach((b) => b.addEventListener("click", reset));
  $("phone-skip").addEventListener("click", () => { state.phone = ""; issue(); });
  $("phone-ok").addEventListener("click", issue);
  $("done").addEventListener("click", reset);
  $("print").addEventListener("click", printTicket);
  $("go-checkin").addEventListener("click", () => { show("checkin"); $("code").focus(); });
  $("code-ok").addEventListener("click", checkIn);
  $("code").addEventListener("keydown", (event) => { if (event.key === "Enter") checkIn(); }); // hand scanners end with Enter
  $("stay").addEventListener("click", touch);
  document.addEventListener("pointerdown", touch);
  $("setup").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem("dor.kiosk.token", $("setup-token").value.trim());
    location.reload();
  });
  window.addEventListener("offline", goOffline);

  call("GET", "/api/v1/devices/me").then((device) => {
    if (device.kind !== "kiosk" || device.centre !== centre) $("unregistered").hidden = false;
  }).catch(() => null);
  reset();
})();
