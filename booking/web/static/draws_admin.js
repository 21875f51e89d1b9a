// Admins' draws page: open a draw (POST /api/v1/draws; what the server refuses is shown beside its
// field), the draws and their figures, and, while a draw has not closed, the applications sharing a
// phone, a browser or a network address, each of which can be excluded with a reason.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { local, count } = DorWords;
  const catalogue = JSON.parse($("draw-catalogue").textContent);
  const named = (thing) => (thing ? thing.name[Dor.lang] || thing.name.ar : "");
  const centreNamed = (code) => named(catalogue.centres.find((c) => c.code === code)) || code;
  // Codes and pseudonyms are isolated (FSI … PDI), so that an Arabic sentence keeps them whole.
  const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, key) => `\u2068${values[key]}\u2069`);

  // ---- the form ----
  function listCentres() {
    const service = $("service").value;
    const box = $("centres");
    box.replaceChildren();
    for (const centre of catalogue.centres.filter((c) => c.services.includes(service))) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = centre.code;
      input.name = "centre";
      label.append(input, named(centre));
      box.appendChild(label);
    }
  }

  // A wall-clock time typed for the centres' zone, as ISO 8601 with that zone's offset then.
  function zoned(wall, zone) {
    const [y, mo, d, h, mi] = wall.split(/[-T:]/).map(Number);
    const asUtc = Date.UTC(y, mo - 1, d, h, mi);
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    });
    const offsetAt = (ms) => {
      const p = Object.fromEntries(format.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
      return Date.UTC(+p.year, p.month - 1, +p.day, +p.hour, +p.minute) - ms;
    };
    const offset = offsetAt(asUtc - offsetAt(asUtc)) / 60000;
    const sign = offset < 0 ? "-" : "+", abs = Math.abs(offset);
    const pad = (n) => String(n).padStart(2, "0");
    return `${wall.slice(0, 16)}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }

  function clearErrors() {
    document.querySelectorAll("#draw-form .error").forEach((p) => { p.hidden = true; p.textContent = ""; });
  }

  // The box of the field a refusal names (`centres.1` is the centres' box), else the form's.
  function errorBox(field) {
    const boxes = [...document.querySelectorAll("#draw-form .error[data-field]")];
    return boxes.find((b) => b.dataset.field === field)
      || boxes.find((b) => field && field.split(".")[0] === b.dataset.field) || $("form-error");
  }

  function body() {
    const centres = [...document.querySelectorAll("#centres input:checked")].map((i) => i.value);
    const zone = catalogue.centres.find((c) => c.code === centres[0])?.timezone || "Asia/Damascus";
    const when = (id) => ($(id).value ? zoned($(id).value, zone) : "");
    return {
      code: $("code").value.trim().toUpperCase(),
      service: $("service").value,
      centres,
      opens_at: when("opens-at"),
      closes_at: when("closes-at"),
      first_day: $("first-day").value,
      last_day: $("last-day").value,
      offer_hours: Number($("offer-hours").value),
      reason: $("reason").value.trim(),
    };
  }

  $("service").addEventListener("change", listCentres);
  $("draw-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    $("open-draw").disabled = true;
    try {
      await Dor.api("POST", "/api/v1/draws", body());
      Dor.toast(Dor.t("opened"));
      $("draw-form").reset();
      listCentres();
      await loadDraws();
    } catch (error) {
      if (error.status === 401) return;
      const box = errorBox(error.field);
      box.textContent = error.message;
      box.hidden = false;
      box.scrollIntoView({ block: "nearest" });
    } finally {
      $("open-draw").disabled = false;
    }
  });

  // ---- the draws, and what is flagged in those still open to exclusions ----
  function cell(content) {
    const td = document.createElement("td");
    td.append(content);
    return td;
  }

  async function loadDraws() {
    const draws = await Dor.api("GET", "/api/v1/draws");
    const list = $("draw-list");
    list.replaceChildren();
    for (const draw of draws) {
      const tr = document.createElement("tr");
      tr.dataset.draw = draw.code;
      const link = document.createElement("a");
      link.href = `/draws/${draw.code}?lang=${Dor.lang}`;
      link.textContent = draw.code;
      link.dir = "ltr";
      const service = named(catalogue.services.find((s) => s.code === draw.service)) || draw.service;
      const outcome = draw.winners === null ? "—" : `${local(draw.winners)} / ${local(draw.waiting)}`;
      tr.append(cell(link), cell(service), cell(Dor.t(draw.state)), cell(local(draw.applications)),
        cell(local(draw.places_total)), cell(outcome));
      list.appendChild(tr);
    }
    if (!draws.length) {
      const tr = document.createElement("tr");
      const td = cell(Dor.t("no_draws"));
      td.colSpan = 6;
      tr.appendChild(td);
      list.appendChild(tr);
    }
    const flags = $("flags");
    flags.replaceChildren();
    for (const draw of draws.filter((d) => d.state === "announced" || d.state === "open")) {
      flags.appendChild(await flagsOf(draw));
    }
  }

  async function flagsOf(draw) {
    const section = document.createElement("section");
    section.className = "flags";
    section.dataset.draw = draw.code;
    const title = document.createElement("h2");
    title.id = `flags-${draw.code}`;
    title.textContent = fill(Dor.t("flags_of"), { draw: draw.code });
    section.setAttribute("aria-labelledby", title.id);
    section.appendChild(title);
    const flags = await Dor.api("GET", `/api/v1/draws/${draw.code}/flags`);
    if (!flags.length) {
      const none = document.createElement("p");
      none.className = "muted";
      none.textContent = Dor.t("no_flags");
      section.appendChild(none);
    }
    for (const flag of flags) {
      const item = document.createElement("div");
      item.className = "flag";
      const what = document.createElement("p");
      what.textContent = `${Dor.t(flag.identity)}: ${count(Dor.t("identities"), flag.identities)}`;
      const list = document.createElement("ul");
      for (const pseudonym of flag.pseudonyms) {
        const li = document.createElement("li");
        const name = document.createElement("bdi");
        name.dir = "ltr";
        name.className = "mono";
        name.textContent = pseudonym;
        if (flag.excluded.includes(pseudonym)) {
          li.append(name, " ", Dor.t("excluded"));
        } else {
          const button = document.createElement("button");
          button.type = "button";
          button.className = "warn";
          button.dataset.pseudonym = pseudonym;
          button.textContent = Dor.t("exclude");
          button.addEventListener("click", () => askReason(draw.code, pseudonym, section));
          li.append(name, " ", button);
        }
        list.appendChild(li);
      }
      item.append(what, list);
      section.appendChild(item);
    }
    return section;
  }

  // ---- excluding one application, with a reason ----
  let excluding = null;
  function askReason(draw, pseudonym, section) {
    excluding = { draw, pseudonym, section };
    $("exclude-title").textContent = fill(Dor.t("exclude_what"), { pseudonym, draw });
    $("exclude-reason").value = "";
    $("exclude-error").hidden = true;
    $("exclude-dialog").showModal();
  }
  $("exclude-cancel").addEventListener("click", () => $("exclude-dialog").close());
  $("exclude-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const { draw, pseudonym, section } = excluding;
    try {
      await Dor.api("POST", `/api/v1/draws/${draw}/applications/${encodeURIComponent(pseudonym)}/exclude`,
        { reason: $("exclude-reason").value.trim() });
      $("exclude-dialog").close();
      // The same application may be flagged for its phone and for its address: excluded in both.
      section.querySelectorAll("button[data-pseudonym]").forEach((b) => {
        if (b.dataset.pseudonym === pseudonym) b.replaceWith(Dor.t("excluded"));
      });
      Dor.toast(Dor.t("done"));
    } catch (error) {
      if (error.status === 401) return;
      $("exclude-error").textContent = error.message;
      $("exclude-error").hidden = false;
    }
  });

  listCentres();
  Dor.me().then(() => {
    Dor.watchSession();
    return loadDraws();
  });
})();
