// The supervisor's wallboard: the centre's view from the API, reloaded whenever the centre's event
// feed (the hall displays' websocket) rings, and every 30 s for the clocks; moves applied in one click.
// The controls (a service's intake, closing a counter, moving its agent, the hall message) say what
// the server answered, and the board shows the state it then reads back.
"use strict";

(() => {
  const board = document.getElementById("wallboard");
  const centre = board.dataset.centre;
  const $ = (id) => document.getElementById(id);
  const { local } = DorWords;
  const minutes = (s) => (s === null || s === undefined ? "—" : `${local(Math.round(s / 60))} ${Dor.t("min")}`);
  const share = (x) => (x === null || x === undefined ? "—" : new Intl.NumberFormat(Dor.lang === "ar" ? "ar-SY" : "en-GB",
    { style: "percent", numberingSystem: DorWords.arabic ? "arab" : "latn" }).format(x));
  let names = {}; // service code -> {ar, en}
  const serviceName = (code) => (names[code] ? names[code][Dor.lang] || names[code].ar : code);
  let pending = null;

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(view) {
    names = view.services;
    const alerts = $("alerts");
    alerts.replaceChildren();
    for (const alert of view.alerts) {
      const li = document.createElement("li");
      li.className = "alert";
      li.textContent = `${Dor.t(alert.kind)}${alert.service ? ` — ${serviceName(alert.service)}` : ""}`
        + `${alert.counter ? ` — ${Dor.t("counter")} ${local(alert.counter)}` : ""}`;
      alerts.appendChild(li);
    }
    if (!view.alerts.length) {
      const li = document.createElement("li");
      li.textContent = Dor.t("no_alerts");
      alerts.appendChild(li);
    }
    const queues = $("queues");
    queues.replaceChildren();
    for (const q of view.queues) {
      const row = document.createElement("tr");
      row.dataset.service = q.service;
      const head = document.createElement("th");
      head.scope = "row";
      head.textContent = serviceName(q.service);
      row.appendChild(head);
      cell(row, local(q.waiting)).className = "waiting";
      const longest = cell(row, minutes(q.longest_wait_s));
      if (q.longest_wait_s > view.target_s) longest.className = "over";
      cell(row, `${minutes(q.estimated_wait_s)}`);
      cell(row, share(q.within_target));
      cell(row, local(q.open_counters));
      const intake = cell(row, Dor.t(q.intake_open ? "intake_open" : "intake_stopped"));
      intake.className = q.intake_open ? "intake" : "intake stopped";
      intake.append(" ", control(Dor.t(q.intake_open ? "stop_intake" : "resume_intake"),
        `${Dor.t(q.intake_open ? "stop_intake" : "resume_intake")} — ${serviceName(q.service)}`,
        () => setIntake(q.service, !q.intake_open)));
      queues.appendChild(row);
    }
    const counters = $("counters");
    counters.replaceChildren();
    for (const c of view.counters) {
      const row = document.createElement("tr");
      row.dataset.counter = c.number;
      const head = document.createElement("th");
      head.scope = "row";
      head.textContent = c.label || local(c.number);
      row.appendChild(head);
      cell(row, `${Dor.t(c.state)}${c.reason ? ` (${Dor.t(c.reason)})` : ""}`).className = `state ${c.state}`;
      cell(row, c.agent_name || c.agent || "—");
      cell(row, c.ticket ? local(c.ticket) : "—").className = "ticket";
      cell(row, c.since_s === null ? "—" : local(Dor.seconds(c.since_s)));
      const actions = cell(row, "");
      if (c.state !== "closed") {
        const label = c.label || `${Dor.t("counter")} ${local(c.number)}`;
        actions.append(
          control(Dor.t("close_counter"), `${Dor.t("close_counter")} — ${label}`, () => askCounter("close", c, view)),
          " ",
          control(Dor.t("move_agent"), `${Dor.t("move_agent")} — ${label}`, () => askCounter("move", c, view)),
        );
      }
      counters.appendChild(row);
    }
    const moves = $("moves");
    moves.replaceChildren();
    for (const move of view.balance.moves) {
      const li = document.createElement("li");
      li.textContent = `${Dor.t("counter")} ${local(move.counter)}: ${Dor.t(move.role)} ${serviceName(move.service)} `;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = Dor.t("apply");
      button.addEventListener("click", async () => {
        try {
          await Dor.api("POST", `/api/v1/centres/${centre}/balance/moves`, move);
          Dor.toast(Dor.t("applied"));
        } catch (error) {
          Dor.toast(local(error.message), "error");
        }
        refresh();
      });
      li.appendChild(button);
      moves.appendChild(li);
    }
    if (!view.balance.moves.length) {
      const li = document.createElement("li");
      li.textContent = Dor.t("no_moves");
      moves.appendChild(li);
    }
    chart(view.hours);
    renderMessage(view.hall_message);
  }

  // --- the controls ---------------------------------------------------------------------------

  function control(text, name, act) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "small";
    button.textContent = text;
    button.setAttribute("aria-label", name);
    button.addEventListener("click", act);
    return button;
  }

  // Runs one control and says the server's answer: its own words on success, its refusal otherwise.
  async function send(method, path, body, done) {
    try {
      const answer = await Dor.api(method, path, body);
      Dor.toast(done(answer));
      refresh();
      return true;
    } catch (error) {
      Dor.toast(local(error.message), "error");
      return false;
    }
  }

  function setIntake(service, open) {
    send("POST", `/api/v1/centres/${centre}/services/${service}/intake`, { open },
      (answer) => `${Dor.t(answer.intake_open ? "intake_now_open" : "intake_now_stopped")} — ${serviceName(answer.service)}`);
  }

  let asked = null; // {kind, counter}
  function askCounter(kind, counter, view) {
    asked = { kind, counter: counter.number };
    const label = counter.label || `${Dor.t("counter")} ${local(counter.number)}`;
    $("counter-dialog-title").textContent = `${Dor.t(kind === "close" ? "close_title" : "move_title")} — ${label}`;
    $("counter-confirm").textContent = Dor.t(kind === "close" ? "close_counter" : "move_agent");
    $("move-to-field").hidden = kind !== "move";
    const select = $("move-to");
    select.replaceChildren();
    select.required = kind === "move";
    for (const c of view.counters.filter((other) => other.state === "closed")) {
      const option = document.createElement("option");
      option.value = String(c.number);
      option.textContent = c.label || `${Dor.t("counter")} ${local(c.number)}`;
      select.appendChild(option);
    }
    if (kind === "move" && !select.options.length) { Dor.toast(Dor.t("no_closed_counter"), "error"); return; }
    $("counter-form").reset();
    $("counter-dialog").showModal();
    $("counter-reason").focus();
  }

  $("counter-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = $("counter-reason").value.trim();
    const path = `/api/v1/centres/${centre}/counters/${asked.counter}`;
    const sent = asked.kind === "close"
      ? await send("POST", `${path}/force-close`, { reason }, () => `${Dor.t("counter_now_closed")} — ${local(asked.counter)}`)
      : await send("POST", `${path}/move-agent`, { to: Number($("move-to").value), reason },
        (answer) => `${Dor.t("agent_now_moved")} — ${Dor.t("counter")} ${local(answer.counter)}`);
    if (sent) $("counter-dialog").close();
  });
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));

  const clock = new Intl.DateTimeFormat(Dor.lang === "ar" ? "ar-SY" : "en-GB",
    { timeZone: board.dataset.timezone, hour: "2-digit", minute: "2-digit", numberingSystem: DorWords.arabic ? "arab" : "latn" });
  function renderMessage(message) {
    $("message-now").textContent = message
      ? `${message[Dor.lang] || message.ar} (${Dor.t("until")} ${clock.format(new Date(message.ends_at))})`
      : Dor.t("no_message");
    $("message-now").classList.toggle("shown", Boolean(message));
    $("message-clear").hidden = !message;
  }

  $("message-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { ar: $("message-ar").value, en: $("message-en").value };
    if ($("message-until").value) body.until = $("message-until").value;
    if (await send("PUT", `/api/v1/centres/${centre}/hall-message`, body, () => Dor.t("message_shown"))) {
      $("message-form").reset();
    }
  });
  $("message-clear").addEventListener("click", () => {
    send("DELETE", `/api/v1/centres/${centre}/hall-message`, undefined, () => Dor.t("message_cleared"));
  });

  // Arrivals and services per hour of today, side by side, against what the open counters could serve
  // (dashed): where demand ran ahead of the counters; the solid line is the queue at each hour's end.
  function chart(hours) {
    const svg = $("hours");
    svg.replaceChildren();
    const top = Math.max(1, ...hours.map((h) => Math.max(h.arrivals, h.served, h.waiting, h.capacity)));
    const width = 320 / Math.max(hours.length, 8); // a morning of one hour is not one wide bar
    const ns = "http://www.w3.org/2000/svg";
    hours.forEach((h, i) => {
      [["arrivals", h.arrivals, 0], ["served", h.served, 1]].forEach(([kind, value, k]) => {
        const bar = document.createElementNS(ns, "rect");
        const height = (value / top) * 100;
        bar.setAttribute("x", String(i * width + k * (width / 2 - 1) + 1));
        bar.setAttribute("y", String(105 - height));
        bar.setAttribute("width", String(width / 2 - 2));
        bar.setAttribute("height", String(height));
        bar.setAttribute("class", kind);
        const title = document.createElementNS(ns, "title");
        title.textContent = `${h.hour}:00 — ${Dor.t(kind)}: ${value}`;
        bar.appendChild(title);
        svg.appendChild(bar);
      });
      const label = document.createElementNS(ns, "text");
      label.setAttribute("x", String(i * width + width / 2));
      label.setAttribute("y", "118");
      label.setAttribute("text-anchor", "middle");
      label.textContent = local(h.hour);
      svg.appendChild(label);
    });
    for (const kind of ["capacity", "waiting"]) {
      const line = document.createElementNS(ns, "polyline");
      line.setAttribute("class", kind);
      line.setAttribute("points", hours.map((h, i) => `${i * width + width / 2},${105 - (h[kind] / top) * 100}`).join(" "));
      const title = document.createElementNS(ns, "title");
      title.textContent = hours.map((h) => `${h.hour}:00 — ${Dor.t(kind)}: ${h[kind]}`).join("\n");
      line.appendChild(title);
      svg.appendChild(line);
    }
  }

  // A centre on its own node: whether it calls the central, how far behind the central's copy is, its
  // last outage. A centre the central serves itself has no link to show.
  function linkCell(row, link) {
    const td = cell(row, "—");
    if (!link) return;
    const at = (iso) => clock.format(new Date(iso));
    const parts = [link.online ? Dor.t("link_online")
      : link.last_contact_at ? Dor.t("link_offline_since").replace("%(time)s", at(link.last_contact_at))
        : Dor.t("link_never")];
    if (link.behind > 0) parts.push(Dor.t("link_behind").replace("%(count)s", local(link.behind)));
    if (link.last_outage) {
      parts.push(Dor.t("link_last_outage").replace("%(from)s", at(link.last_outage.began_at))
        .replace("%(to)s", at(link.last_outage.ended_at)));
    }
    td.textContent = parts.join(" · ");
    td.className = link.online ? "link-online" : "link-offline";
  }

  // Admins: every centre side by side, a link to each centre's board.
  function renderNational(rows) {
    const body = $("national");
    body.replaceChildren();
    for (const r of rows) {
      const row = document.createElement("tr");
      row.dataset.centre = r.centre;
      const head = document.createElement("th");
      head.scope = "row";
      const link = document.createElement("a");
      link.href = `/supervisor?centre=${r.centre}`;
      link.textContent = r.name[Dor.lang] || r.centre;
      head.appendChild(link);
      row.appendChild(head);
      cell(row, local(r.waiting)).className = "waiting";
      cell(row, minutes(r.longest_wait_s));
      cell(row, share(r.within_target));
      cell(row, local(r.open_counters));
      cell(row, local(r.alerts));
      linkCell(row, r.link);
      body.appendChild(row);
    }
  }

  async function refresh() {
    try {
      render(await Dor.api("GET", `/api/v1/centres/${centre}/wallboard`, undefined, { background: true }));
      if ($("national")) renderNational(await Dor.api("GET", "/api/v1/national", undefined, { background: true }));
    } catch (error) {
      if (error.status === 0) Dor.toast(Dor.t("offline"), "error");
    }
  }

  function soon() { // a burst of events: one reload
    clearTimeout(pending);
    pending = setTimeout(refresh, 200);
  }

  Dor.me().then(() => {
    Dor.watchSession();
    refresh();
    DorReconnect.follow(`/ws/centres/${centre}/display`, { message: soon }); // reconnect.js: when to try again
    setInterval(refresh, 30000);
  });
})();
