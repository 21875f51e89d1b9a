// The supervisor's reports: charts rendered by the server (SVG) and their CSV, what citizens said after
// service, then the bookings flagged as a broker's, to void and block, and the blocks, to lift. Every
// action asks why.
"use strict";

(() => {
  const centre = document.getElementById("reports").dataset.centre;
  const $ = (id) => document.getElementById(id);
  const api = `/api/v1/centres/${centre}`;

  function showReports() {
    const range = `from=${$("from").value}&to=${$("to").value}`;
    const services = `${api}/reports/services?${range}&period=${$("period").value}`;
    $("services-chart").src = `${services}&format=svg`;
    $("services-csv").href = `${services}&format=csv`;
    $("agents-chart").src = `${api}/reports/agents?${range}&format=svg`;
    $("agents-csv").href = `${api}/reports/agents?${range}&format=csv`;
    $("feedback-csv").href = `${api}/reports/feedback?${range}&format=csv`;
  }

  // A mean rating in the page's digits, with the Arabic decimal separator where the digits are Arabic.
  const mean = (value) => DorWords.local(value.toFixed(2)).replace(".", DorWords.arabic ? "٫" : ".");

  function renderFeedback(report) {
    const rows = report.rows.map((row) => {
      const tr = element("tr");
      const key = row.by === "counter" ? DorWords.local(row.key) : row.key;
      const what = element("th", `${Dor.t(`by:${row.by}`)} ${key}`);
      what.scope = "row";
      tr.append(what, element("td", DorWords.local(row.answers)), element("td", mean(row.mean_rating)));
      return tr;
    });
    if (!rows.length) {
      const none = element("td", Dor.t("no_answers"));
      none.colSpan = 3;
      rows.push(element("tr"));
      rows[0].appendChild(none);
    }
    $("feedback-rows").replaceChildren(...rows);
    const comments = report.comments.map((c) => {
      // The centre's time, isolated left to right: among Arabic words it would read backwards.
      const when = `\u2066${DorWords.local(c.given_at.slice(0, 16).replace("T", " "))}\u2069`;
      const counter = c.counter === null ? "" : `${Dor.t("by:counter")} ${DorWords.local(c.counter)}`;
      const li = element("li", `${DorWords.join([Dor.t(`rating:${c.rating}`), c.service, counter, when])}: `);
      li.appendChild(element("q", c.comment));
      return li;
    });
    if (!comments.length) comments.push(element("li", Dor.t("no_comments")));
    $("feedback-comments").replaceChildren(...comments);
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  async function act(method, url, body, done) {
    try {
      await Dor.api(method, url, body);
      Dor.toast(Dor.t(done));
    } catch (error) {
      Dor.toast(DorWords.local(error.message), "error");
    }
    refresh();
  }

  function flagItem(flag, index) {
    const li = element("li", undefined, "flag");
    const reason = flag.identity ? `${flag.reason}:${flag.identity}` : flag.reason;
    li.appendChild(element("h3", `${Dor.t(reason)} (${flag.key})`));
    const { count, join } = DorWords;
    li.appendChild(element("p", join([
      count(Dor.t("identities"), flag.identities), count(Dor.t("bookings"), flag.bookings),
      flag.no_shows ? count(Dor.t("no_shows"), flag.no_shows) : "",
      flag.elsewhere ? count(Dor.t("elsewhere"), flag.elsewhere) : "",
    ])));
    const list = element("ul", undefined, "codes");
    for (const a of flag.appointments) {
      const status = a.status === "voided" ? "voided_status" : a.status;
      list.appendChild(element("li", `${a.code} — ${a.service} — ${a.start.slice(0, 16).replace("T", " ")} — ${Dor.t(status)}`));
    }
    li.appendChild(list);
    const label = element("label", Dor.t("why"));
    const why = element("input");
    why.id = `why-${index}`;
    why.required = true;
    why.minLength = 3;
    label.htmlFor = why.id;
    li.append(label, why);
    const codes = flag.appointments.map((a) => a.code);
    const booked = flag.appointments.filter((a) => a.status === "booked").map((a) => a.code);
    const whyGiven = () => {
      if (why.value.trim().length >= 3) return why.value.trim();
      why.focus();
      why.reportValidity();
      return null;
    };
    const voidButton = element("button", Dor.t("void"));
    voidButton.type = "button";
    voidButton.disabled = !booked.length;
    voidButton.addEventListener("click", () => {
      const text = whyGiven();
      if (text) act("POST", `${api}/appointments/void`, { codes: booked, reason: text }, "voided");
    });
    const kind = flag.identity || "national_id";
    const blockButton = element("button", Dor.t(`block:${kind}`));
    blockButton.type = "button";
    blockButton.disabled = !codes.length;
    blockButton.addEventListener("click", () => {
      const text = whyGiven();
      if (text) act("POST", `${api}/blocks`, { appointments: codes, identities: [kind], reason: text }, "blocked");
    });
    li.append(voidButton, blockButton);
    return li;
  }

  function render(flags, blocks) {
    const list = $("flags");
    list.replaceChildren(...flags.map(flagItem));
    if (!flags.length) list.appendChild(element("li", Dor.t("no_flags")));
    const held = $("blocks");
    held.replaceChildren();
    for (const b of blocks) {
      const li = element("li", `${Dor.t(b.kind)} — ${Dor.t("until")} ${b.until.slice(0, 10)} — ${b.reason} (${b.actor.replace("staff:", "")}) `);
      const lift = element("button", Dor.t("lift"));
      lift.type = "button";
      lift.addEventListener("click", () => act("DELETE", `${api}/blocks/${b.id}`, undefined, "lifted"));
      li.appendChild(lift);
      held.appendChild(li);
    }
    if (!blocks.length) held.appendChild(element("li", Dor.t("no_blocks")));
  }

  async function refresh() {
    try {
      const range = `from=${$("from").value}&to=${$("to").value}`;
      render(await Dor.api("GET", `${api}/bookings/flags?${range}`), await Dor.api("GET", `${api}/blocks`));
      renderFeedback(await Dor.api("GET", `${api}/reports/feedback?${range}`));
    } catch (error) {
      Dor.toast(error.status === 0 ? Dor.t("offline") : error.message, "error");
    }
  }

  Dor.me().then(() => {
    Dor.watchSession();
    showReports();
    refresh();
  });
})();
