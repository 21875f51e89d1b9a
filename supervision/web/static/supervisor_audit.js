// The audit screen: the centre's event log searched by the form's filters, newest first, a page at a
// time; its CSV with the same filters; and the hash chain checked on request.
"use strict";

(() => {
  const box = document.getElementById("audit");
  const centre = box.dataset.centre;
  const $ = (id) => document.getElementById(id);
  const api = `/api/v1/centres/${centre}`;
  const { local, count } = DorWords;
  let shown = 0;

  // Time in the centre's zone, written with Latin digits first so that the page's digits decide.
  const clock = new Intl.DateTimeFormat("en-CA", {
    timeZone: box.dataset.timezone, numberingSystem: "latn", hourCycle: "h23",
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  function when(iso) {
    const part = Object.fromEntries(clock.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
    return local(`${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second}`);
  }

  // The filters as the form holds them, for the API and the CSV alike.
  function filters() {
    const params = new URLSearchParams();
    for (const name of ["day", "ticket", "staff", "kind"]) {
      const value = $(name).value.trim();
      if (value) params.set(name, value);
    }
    return params;
  }

  // `ltr`: a text of Latin letters, digits and signs (times, numbers like A-042, the data's keys),
  // isolated so that it reads left to right within an Arabic row.
  function cell(text, { ltr = false, className = "" } = {}) {
    const td = document.createElement("td");
    if (className) td.className = className;
    if (ltr) {
      const span = document.createElement("span");
      span.dir = "ltr";
      span.textContent = text;
      td.appendChild(span);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function details(data) {
    // The log's own keys, as the CSV has them: read left to right, so joined with a Latin comma.
    return Object.entries(data).map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`).join(", ");
  }

  function row(entry) {
    const tr = document.createElement("tr");
    tr.append(
      cell(local(entry.seq)),
      cell(when(entry.at), { ltr: true }),
      cell(Dor.t("kinds")[entry.kind] || entry.kind),
      cell(entry.actor, { ltr: true }),
      cell(entry.ticket ? local(entry.ticket) : "", { ltr: true }),
      cell(entry.counter ? local(entry.counter) : ""),
      cell(local(details(entry.data)), { ltr: true, className: "details" }),
    );
    return tr;
  }

  async function load(afterSeq) {
    const params = filters();
    if (afterSeq) params.set("after_seq", afterSeq);
    const more = $("more");
    try {
      const page = await Dor.api("GET", `${api}/audit?${params}`);
      $("problem").hidden = true;
      if (!afterSeq) { $("entries").replaceChildren(); shown = 0; }
      $("entries").append(...page.entries.map(row));
      shown += page.entries.length;
      $("shown").textContent = shown ? count(Dor.t("found"), shown) : Dor.t("none");
      more.hidden = page.next_after_seq === null;
      more.dataset.after = page.next_after_seq || "";
    } catch (error) {
      $("problem").textContent = error.status === 0 ? Dor.t("offline") : local(error.message);
      $("problem").hidden = false;
      more.hidden = true;
    }
  }

  async function verify() {
    const verdict = $("verdict");
    verdict.className = "verdict";
    verdict.textContent = Dor.t("checking");
    try {
      const result = await Dor.api("POST", `${api}/audit/verify`);
      if (result.ok) {
        verdict.textContent = `${Dor.t("intact")} ${count(Dor.t("entries"), result.entries)}.`;
        verdict.classList.add("ok");
      } else {
        const head = Dor.t("broken").replace("%(seq)s", local(result.broken.seq));
        verdict.textContent = `${head} ${local(result.broken.reason)}`;
        verdict.classList.add("error");
      }
    } catch (error) {
      verdict.textContent = error.status === 0 ? Dor.t("offline") : local(error.message);
      verdict.classList.add("error");
    }
  }

  // The CSV names each kind in the page's language, which a download's own headers may not ask for.
  $("csv").href = `${api}/audit.csv?${filters()}&lang=${Dor.lang}`;
  $("more").addEventListener("click", () => load($("more").dataset.after));
  $("verify").addEventListener("click", verify);
  Dor.me().then(() => {
    Dor.watchSession();
    load();
  });
})();
