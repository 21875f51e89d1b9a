// The citizen's booking pages. /book: a service and what to bring, a centre (nearest first if the
// browser shares its location, on request only), a day and a time, the phone verified by an SMS code,
// the national ID; the booking carries an Idempotency-Key, so a double click books once.
// /book/manage/{token}: cancel, or move once to another time.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const text = JSON.parse($("booking-text").textContent);
  const { lang, local, ascii, call, showError } = window.Dor;
  const { count, join } = window.DorWords;
  const locale = lang === "ar" ? "ar-SY" : "en-GB";
  const minutes = (seconds) => count(text.minutes, Math.max(1, Math.round(seconds / 60)));
  // The whole horizon in one request: the slots API takes up to 31 days.
  const DAYS = 31;

  // --- dates: the API gives centre-local times with their offset, so the text of a slot is its local time ---
  // Latin digits from Intl, then the page's own (`local`): Intl alone would follow the locale, not ?digits=.
  const dayFormat = new Intl.DateTimeFormat(`${locale}-u-nu-latn`, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" });
  const dayLabel = (isoDate) => {
    const [y, m, d] = isoDate.slice(0, 10).split("-").map(Number);
    return local(dayFormat.format(new Date(Date.UTC(y, m - 1, d, 12))));
  };
  const timeLabel = (iso) => local(iso.slice(11, 16));
  const whenLabel = (slot) => join([dayLabel(slot.start), timeLabel(slot.start)]);

  function pressed(container, chosen) {
    container.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === chosen)));
  }

  // A row of the days that have a place left (from `from`, a day, or today), then the times of the
  // chosen day; a full time beside free ones is shown but cannot be chosen. Says how many days it offers.
  async function slotPicker(prefix, centre, service, onPick, from) {
    const days = $(`${prefix}-days`), times = $(`${prefix}-times`), status = $(`${prefix}-slots-status`);
    days.innerHTML = times.innerHTML = "";
    status.textContent = text.loading;
    const since = from ? `from=${from.slice(0, 10)}&` : "";
    const slots = await call("GET", `/api/v1/centres/${centre}/services/${service}/slots?${since}days=${DAYS}`);
    const byDay = new Map();
    for (const slot of slots) {
      const day = slot.start.slice(0, 10);
      if (!byDay.has(day)) byDay.set(day, []);
      byDay.get(day).push(slot);
    }
    for (const [day, list] of byDay) if (list.every((s) => s.available === 0)) byDay.delete(day);
    status.textContent = byDay.size ? text.choose_day : text.no_slots;
    const showDay = (day, button) => {
      pressed(days, button);
      times.innerHTML = "";
      status.textContent = "";
      for (const slot of byDay.get(day)) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "time";
        b.dataset.start = slot.start;
        b.setAttribute("aria-pressed", "false");
        b.innerHTML = '<span class="t"></span><span class="left"></span>';
        b.querySelector(".t").textContent = timeLabel(slot.start);
        b.querySelector(".left").textContent = slot.available ? count(text.places_left, slot.available) : text.full;
        b.disabled = slot.available === 0;
        b.addEventListener("click", () => { pressed(times, b); onPick(slot); });
        times.appendChild(b);
      }
      // A month of days fills a phone's screen: bring the times up to where the eye is.
      times.scrollIntoView({ block: "nearest" });
    };
    for (const day of byDay.keys()) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "day";
      b.dataset.day = day;
      b.setAttribute("aria-pressed", "false");
      b.textContent = dayLabel(day);
      b.addEventListener("click", () => showDay(day, b));
      days.appendChild(b);
    }
    return byDay.size;
  }

  // ===================================== /book =====================================
  function bookPage(root) {
    const data = JSON.parse($("book-data").textContent);
    const services = Object.fromEntries(data.services.map((s) => [s.code, s]));
    const state = { service: null, centre: null, slot: null, position: null, intent: null, otpSent: false, free: null };
    const named = (thing) => thing.name[lang] || thing.name.ar;

    function show(step) {
      document.querySelectorAll(".step").forEach((s) => { s.hidden = s.id !== `step-${step}`; });
      const heading = $(`step-${step}`).querySelector("h2");
      heading.tabIndex = -1;
      heading.focus();
      window.scrollTo(0, 0);
    }

    // 1. the service, and what it needs, before anything else
    document.querySelectorAll("[data-service]").forEach((button) => {
      button.querySelector(".fee").textContent = local(Number(button.querySelector(".fee").dataset.amount).toLocaleString("en"));
      button.addEventListener("click", () => chooseService(button.dataset.service));
    });

    function fillDocuments(list, service) {
      list.innerHTML = "";
      for (const doc of service.documents) {
        const li = document.createElement("li");
        li.textContent = doc[lang] || doc.ar;
        list.appendChild(li);
      }
    }

    function chooseService(code) {
      state.service = code;
      const service = services[code];
      $("documents-title").textContent = named(service);
      $("documents-description").textContent = service.description[lang] || "";
      fillDocuments($("documents"), service);
      $("documents-fee").textContent = local(service.fee.toLocaleString("en"));
      show("documents");
    }

    // 2. the centres offering it, nearest first once the browser has told where it is
    function distanceKm(centre) {
      if (!state.position) return null;
      const rad = Math.PI / 180, { latitude, longitude } = state.position;
      const a = Math.sin(((centre.lat - latitude) * rad) / 2) ** 2
        + Math.cos(latitude * rad) * Math.cos(centre.lat * rad) * Math.sin(((centre.lon - longitude) * rad) / 2) ** 2;
      return 6371 * 2 * Math.asin(Math.sqrt(a));
    }

    // Each centre's first slot with a place in the horizon (null: none), asked once per service.
    function firstFree() {
      const service = state.service;
      if (!state.free || state.free.service !== service) {
        const answer = call("GET", `/api/v1/services/${service}/availability`)
          .then((found) => new Map(found.centres.map((c) => [c.centre, c.first_slot])))
          .catch(() => null);  // unknown: the day step finds out by itself
        state.free = { service, answer };
      }
      return state.free.answer;
    }

    // A centre's first free slot, or that it has none in its horizon (each centre has its own).
    const placesLine = (centre, slot) => (slot
      ? `${text.first_free}: ${dayLabel(slot.start)}`
      : count(text.no_places, centre.horizon_days));

    // A centre as a choice: its name, where it is (and how far), and `more` lines filled later.
    function centreChoice(centre, more) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "choice";
      b.dataset.centre = centre.code;
      b.innerHTML = '<span class="name"></span><span class="sub place"></span>'
        + more.map((name) => `<span class="sub ${name}"></span>`).join("");
      b.querySelector(".name").textContent = named(centre);
      const km = distanceKm(centre);
      b.querySelector(".place").textContent = join([centre.governorate,
        km === null ? "" : `${local(km < 10 ? km.toFixed(1) : Math.round(km))} ${text.km}`]);
      b.addEventListener("click", () => chooseCentre(centre));
      const li = document.createElement("li");
      li.appendChild(b);
      return li;
    }

    async function listCentres() {
      const list = $("centres");
      list.innerHTML = "";
      const offering = data.centres.filter((c) => c.services.includes(state.service));
      if (state.position) offering.sort((a, b) => distanceKm(a) - distanceKm(b));
      const free = firstFree();
      for (const centre of offering) {
        const li = centreChoice(centre, ["free", "wait"]);
        const b = li.firstChild;
        list.appendChild(li);
        free.then((first) => {
          if (first && first.has(centre.code)) b.querySelector(".free").textContent = placesLine(centre, first.get(centre.code));
        });
        call("GET", `/api/v1/centres/${centre.code}/status`).then((status) => {
          const row = status.services.find((s) => s.code === state.service);
          if (!row) return;
          b.querySelector(".wait").textContent = `${text.wait_now}: `
            + (row.waiting === 0 ? text.no_wait : `≈ ${minutes(row.estimated_wait_s)}`);
        }).catch(() => null);
      }
    }

    $("locate").addEventListener("click", () => {
      if (!navigator.geolocation) { $("locate-status").textContent = text.no_location; return; }
      $("locate-status").textContent = text.locating;
      navigator.geolocation.getCurrentPosition((position) => {
        state.position = position.coords;
        $("locate-status").textContent = text.located;
        listCentres();
      }, () => { $("locate-status").textContent = text.no_location; }, { timeout: 15000, maximumAge: 600000 });
    });

    $("documents-ok").addEventListener("click", () => { listCentres(); show("centre"); });

    // 3. a day and a time; or, where there is no place in the whole horizon, the centres that have one
    async function chooseCentre(centre) {
      state.centre = centre;
      state.slot = null;
      $("slot-centre").textContent = named(centre);
      $("no-places").hidden = true;
      $("book-picker").hidden = true;
      show("slot");
      const first = await firstFree();
      if (state.centre !== centre) return;  // another centre was chosen meanwhile
      if (first && first.has(centre.code) && first.get(centre.code) === null) { noPlaces(centre, first); return; }
      $("book-picker").hidden = false;
      try {
        const from = first && first.get(centre.code) ? first.get(centre.code).start : null;
        const offered = await slotPicker("book", centre.code, state.service, chooseSlot, from);
        // Taken since the centre list was drawn: ask again, and say so the same way.
        if (offered === 0 && state.centre === centre) {
          state.free = null;
          const again = await firstFree();
          if (again && state.centre === centre) noPlaces(centre, again);
        }
      } catch (error) {
        $("book-slots-status").textContent = text.error;
      }
    }

    function noPlaces(centre, first) {
      $("book-picker").hidden = true;
      $("no-places-text").textContent = count(text.no_places_here, centre.horizon_days);
      const list = $("elsewhere");
      list.innerHTML = "";
      const others = data.centres.filter((c) => c.code !== centre.code && first.get(c.code));
      others.sort((a, b) => (state.position ? distanceKm(a) - distanceKm(b)
        : first.get(a.code).start.localeCompare(first.get(b.code).start)));
      for (const other of others) {
        const li = centreChoice(other, ["free"]);
        li.querySelector(".free").textContent = placesLine(other, first.get(other.code));
        list.appendChild(li);
      }
      $("elsewhere-title").hidden = others.length === 0;
      $("elsewhere-none").hidden = others.length > 0;
      $("no-places").hidden = false;
    }

    function chooseSlot(slot) {
      state.slot = slot;
      $("sum-service").textContent = named(services[state.service]);
      $("sum-centre").textContent = named(state.centre);
      $("sum-when").textContent = whenLabel(slot);
      $("slot-error").hidden = true;
      show("details");
    }

    // 4. the phone, verified by a code sent by SMS; then the national ID
    Dor.sendsCode({ purpose: "booking", centre: () => state.centre.code, text });

    function bodyOf() {
      return {
        centre: state.centre.code,
        service: state.service,
        start: state.slot.start,
        phone: $("phone").value.trim(),
        // The booking API compares the code as typed, so Arabic-Indic digits are made ASCII here.
        otp: ascii($("otp").value).replace(/\s/g, ""),
        national_id: ascii($("national-id").value).replace(/[\s-]/g, ""),
        language: lang,
      };
    }

    function explain(error) {
      const field = error.field;
      if (error.code === "otp_invalid") return ["otp-error", text.otp_invalid];
      // Eleven digits were checked before sending: what the server refuses is a number no ID can have.
      if (error.code === "invalid_input" && field === "national_id") return ["national-id-error", text.national_id_fake];
      if (error.code === "invalid_input" && field === "phone") return ["phone-error", text.bad_phone];
      if (error.code === "slot_full") return ["slot-error-text", text.slot_full];
      if (error.code.startsWith("slot_")) return ["slot-error-text", text.slot_gone];
      if (error.code === "quota_exceeded") return ["form-error", text.quota_exceeded];
      if (error.code === "booking_blocked") return ["form-error", text.booking_blocked];
      if (error.code.startsWith("service_")) return ["form-error", text.not_bookable];
      return ["form-error", error.status === 0 ? text.offline : text.error];
    }

    $("details").addEventListener("submit", async (event) => {
      event.preventDefault();
      ["otp-error", "national-id-error", "phone-error", "form-error"].forEach((id) => showError(id, ""));
      $("slot-error").hidden = true;
      const body = bodyOf();
      if (!body.otp) { showError("otp-error", text.otp_missing); $("otp").focus(); return; }
      if (!/^[0-9]{11}$/.test(body.national_id)) {
        showError("national-id-error", text.national_id);
        $("national-id").focus();
        return;
      }
      // One key per booking attempt: a double click or a retry of the same answers sends the same key.
      const fingerprint = JSON.stringify(body);
      if (!state.intent || state.intent.fingerprint !== fingerprint) state.intent = { key: crypto.randomUUID(), fingerprint };
      $("confirm").disabled = true;
      try {
        const appointment = await call("POST", "/api/v1/appointments", body, { "Idempotency-Key": state.intent.key });
        done(appointment);
      } catch (error) {
        const [where, message] = explain(error);
        if (where === "slot-error-text") {
          $("slot-error-text").textContent = message;
          $("slot-error").hidden = false;
          $("slot-error").querySelector("button").focus();
        } else {
          showError(where, message);
          const input = document.querySelector(`[aria-describedby~="${where}"]`);
          if (input) input.focus();
        }
      } finally {
        $("confirm").disabled = false;
      }
    });

    // 5. the confirmation
    function done(appointment) {
      $("done-code").textContent = appointment.code;
      $("done-service").textContent = named(services[state.service]);
      $("done-centre").textContent = named(state.centre);
      $("done-when").textContent = whenLabel(appointment);
      $("done-qr").src = `/book/manage/${appointment.token}/qr.svg`;
      fillDocuments($("done-documents"), services[state.service]);
      $("done-ics").href = `/api/v1/appointments/${appointment.token}/calendar.ics`;
      $("done-manage").href = `/book/manage/${appointment.token}?lang=${lang}`;
      root.dataset.token = appointment.token;
      show("done");
    }

    document.querySelectorAll(".back").forEach((b) => b.addEventListener("click", () => {
      if (b.dataset.to === "slot" && state.centre) chooseCentre(state.centre); else show(b.dataset.to);
    }));
  }

  // ================================ /book/manage/{token} ================================
  function managePage(root) {
    const token = root.dataset.token;
    const message = $("manage-message");
    const say = (words) => { message.textContent = words; message.hidden = false; };
    const refusal = (error) => (error.code === "appointment_not_active" ? text.not_active
      : error.code === "reschedule_limit" ? text.reschedule_limit
      : error.code === "slot_full" ? text.slot_full
      : error.code.startsWith("slot_") ? text.slot_gone
      : error.status === 0 ? text.offline : text.error);
    let chosen = null;

    $("cancel")?.addEventListener("click", async () => {
      if (!window.confirm(text.confirm_cancel)) return;
      try {
        const appointment = await call("DELETE", `/api/v1/appointments/${token}`);
        root.dataset.status = appointment.status;
        $("status").textContent = text[appointment.status] || appointment.status;
        // What the kiosk would scan, and what only a live booking needs, go with it.
        ["manage-actions", "check-in", "calendar", "book-another"].forEach((id) => { if ($(id)) $(id).hidden = true; });
        $("ended-text").textContent = text.cancel_done;
        $("ended").hidden = false;
      } catch (error) { say(refusal(error)); }
    });

    $("reschedule")?.addEventListener("click", () => {
      const panel = $("reschedule-panel");
      panel.hidden = !panel.hidden;
      $("reschedule").setAttribute("aria-expanded", String(!panel.hidden));
      if (panel.hidden) return;
      chosen = null;
      $("move-confirm").disabled = true;
      slotPicker("move", root.dataset.centre, root.dataset.service, (slot) => {
        chosen = slot;
        $("move-confirm").disabled = false;
      }).catch(() => { $("move-slots-status").textContent = text.error; });
    });

    $("move-confirm")?.addEventListener("click", async () => {
      if (!chosen) return;
      $("move-confirm").disabled = true;
      try {
        await call("POST", `/api/v1/appointments/${token}/reschedule`, { start: chosen.start });
        location.reload();
      } catch (error) {
        say(refusal(error));
        $("move-confirm").disabled = false;
      }
    });
  }

  if ($("book")) bookPage($("book"));
  if ($("manage")) managePage($("manage"));
})();
