// The kiosk: touch first. Choose a service (priority and SMS optional), get a ticket with a QR code,
// or check in an appointment or a remote ticket (its number and the last digits of its phone). It
// starts again in Arabic for the next citizen. Every request carries an Idempotency-Key, so a double tap or a retry
// never makes two tickets. Offline, it says so and issues nothing; it recovers by itself.
"use strict";

(() => {
  const root = document.getElementById("kiosk");
  const centre = root.dataset.centre;
  const lang = root.dataset.lang;
  const text = JSON.parse(document.getElementById("kiosk-text").textContent);
  const $ = (id) => document.getElementById(id);
  const IDLE_MS = 45000, WARN_MS = 15000;
  const { local, ascii } = Dor;
  const { count, join } = DorWords;
  const params = new URLSearchParams(location.search);
  if (params.get("token")) {
    localStorage.setItem("dor.kiosk.token", params.get("token"));
    params.delete("token");
    history.replaceState(null, "", `${location.pathname}${params.size ? "?" + params : ""}`);
  }
  const token = () => localStorage.getItem("dor.kiosk.token") || "";
  const state = { service: null, priority: "none", phone: "", intent: null, ticket: null, number: null };

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

  // The next citizen finds the start, in Arabic: a kiosk left in English is loaded again in Arabic
  // (?lang=ar also makes the server remember Arabic in its dor_lang cookie).
  function reset() {
    if (lang !== "ar") {
      const next = new URLSearchParams(location.search);
      next.set("lang", "ar");
      location.replace(`${location.pathname}?${next}`);
      return;
    }
    start();
  }

  function start() {
    Object.assign(state, { service: null, priority: "none", phone: "", intent: null, ticket: null, number: null });
    $("phone").textContent = "";
    $("code").value = $("last4").value = "";
    $("phone-error").hidden = $("code-error").hidden = $("last4-error").hidden = true;
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
        // The picture is decorative: the name beside it says the same.
        button.innerHTML = '<img class="icon" alt="" width="96" height="96"><span class="name"></span><span class="wait"></span>';
        button.querySelector(".icon").src = `/static/icons/${encodeURIComponent(service.icon)}.svg`;
        button.querySelector(".name").textContent = service.name[lang] || service.name.ar;
        button.querySelector(".wait").textContent = row.intake_open === false ? text.intake_stopped
          : row.waiting === 0 ? text.no_wait
          : join([count(text.waiting, row.waiting), minutes(row.estimated_wait_s)]);
        button.disabled = row.intake_open === false;
        button.addEventListener("click", () => chooseService(service.code));
        li.appendChild(button);
        list.appendChild(li);
      }
    } catch (error) { /* offline or unregistered: the overlay says so */ }
  }

  // A wait in whole minutes, at least one: "١٢ دقيقة".
  const minutes = (seconds) => count(text.minutes, Math.max(1, Math.round(seconds / 60)));

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
    const wait = (s) => (s < 60 ? text.no_wait : minutes(s));
    $("nearby-name").textContent = `${best.name[lang] || best.name.ar} (${local(best.distance_km)} ${text.km})`;
    $("nearby-wait").textContent = join([`${text.there}: ${wait(best.estimated_wait_s)}`, `${text.here}: ${wait(here.estimated_wait_s)}`]);
    // Or take the ticket there from a phone, on the way: the QR leads to that centre's remote page.
    $("nearby-qr").src = `/remote/${encodeURIComponent(best.centre)}/qr.svg`;
    $("nearby").hidden = false;
  }

  async function issue() {
    const body = { service: state.service, channel: "kiosk", priority: state.priority, language: lang };
    if (state.phone) body.phone = ascii(state.phone);
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
    $("t-number").textContent = local(ticket.number);
    $("t-ahead").textContent = count(text.ahead, ticket.ahead ?? 0);
    $("t-wait").textContent = `${text.wait}: ${minutes(ticket.estimated_wait_s || 0)}`;
    // The time of issue in the centre's time zone, in the page's language and digits.
    const issued = new Intl.DateTimeFormat(lang === "ar" ? "ar-SY" : "en-GB", {
      timeZone: root.dataset.timezone, dateStyle: "long", timeStyle: "short",
      numberingSystem: DorWords.arabic ? "arab" : "latn",
    });
    $("t-issued").textContent = `${text.issued}: ${issued.format(new Date(ticket.issued_at))}`;
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

  // A ticket's number typed (A-012, a12, A١٢): the phone's last digits are asked next. Anything
  // else is an appointment's code, or a QR scanned.
  const TICKET_NUMBER = /^([A-Z])-?([0-9]{1,4})$/;

  async function checkIn() {
    const code = $("code").value.trim();
    if (!code) return;
    const number = ascii(code).toUpperCase().match(TICKET_NUMBER);
    if (number) {  // written as printed: A-012
      state.number = `${number[1]}-${number[2].padStart(3, "0")}`;
      // Isolated left to right: in an Arabic line, "A-٠١٢" would otherwise read "٠١٢-A".
      $("last4-hint").textContent = text.for_ticket.replace("%(number)s", `\u2066${local(state.number)}\u2069`);
      show("last4");
      return;
    }
    await send({ code }, "code-error", (error) => text[error.code] || text.error);
  }

  async function checkInNumber() {
    const last4 = $("last4").value.trim();
    if (!/^[0-9]{4}$/.test(ascii(last4))) return;
    await send({ number: state.number, phone_last4: last4 }, "last4-error", (error) => (
      error.code === "unknown_code" || error.code === "invalid_input" ? text.unknown_number
        : error.code === "already_checked_in" ? text.ticket_already_checked_in : text[error.code] || text.error));
  }

  async function send(body, errorBox, explain) {
    try {
      showTicket(await call("POST", `/api/v1/centres/${centre}/check-in`, body));
    } catch (error) {
      if (error.status === 0 || error.status === 401) return;
      Dor.showError(errorBox, explain(error));
    }
  }

  // --- on-screen keypads: digits in the page's digits, letters of appointment codes and of numbers ---
  const CODE_LETTERS = "ACDEFGHJKMNPQRTUVWXY";  // booking/checkin.py CODE_ALPHABET
  function keypad(pad) {
    const letters = pad.classList.contains("letters")
      ? [...new Set([...CODE_LETTERS, ...root.dataset.prefixes])].sort() : [];
    const keys = [...letters, ..."1234567890", "⌫"];
    for (const key of keys) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = key === "⌫" ? "key delete" : "key";
      button.textContent = local(key);
      button.setAttribute("aria-label", key === "⌫" ? text.delete : local(key));
      button.addEventListener("click", () => {
        const target = $(pad.dataset.target);
        const input = target.tagName === "INPUT";
        const current = input ? target.value : target.textContent;
        const next = key === "⌫" ? current.slice(0, -1) : (current + local(key)).slice(0, Number(pad.dataset.max));
        if (input) target.value = next; else target.textContent = next;
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
    // At the start there is nothing to lose, unless the kiosk is left in another language than Arabic.
    if ($("step-services").hidden === false && lang === "ar") return;
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
  $("last4-ok").addEventListener("click", checkInNumber);
  $("last4-back").addEventListener("click", () => { $("last4").value = ""; Dor.showError("last4-error", ""); show("checkin"); });
  $("last4").addEventListener("keydown", (event) => { if (event.key === "Enter") checkInNumber(); });
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
  start();
})();
