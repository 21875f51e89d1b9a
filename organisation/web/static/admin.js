// Administration: a centre's devices and the staff accounts the signed-in person may manage.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let centre = null;

  function showSecret(label, value) {
    $("secret").textContent = `${label} ${value}`;
    $("secret").hidden = false;
  }

  function row(cells, button) {
    const tr = document.createElement("tr");
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    if (button) td.appendChild(button);
    tr.appendChild(td);
    return tr;
  }

  function action(label, handler) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.addEventListener("click", async () => {
      try { await handler(); } catch (error) { Dor.toast(error.message, "error"); }
    });
    return button;
  }

  async function loadDevices() {
    const devices = await Dor.api("GET", `/api/v1/centres/${centre}/devices`);
    const list = $("device-list");
    list.innerHTML = "";
    for (const d of devices) {
      const revoke = d.revoked_at ? null : action(Dor.t("revoke"), async () => {
        await Dor.api("DELETE", `/api/v1/centres/${centre}/devices/${d.id}`);
        await loadDevices();
      });
      list.appendChild(row([`#${d.id}`, Dor.t(d.kind), d.name, d.revoked_at ? Dor.t("revoked") : Dor.t("active")], revoke));
    }
  }

  async function loadStaff() {
    const staff = await Dor.api("GET", "/api/v1/staff");
    const list = $("staff-list");
    list.innerHTML = "";
    for (const s of staff) {
      const cell = document.createElement("span");
      if (s.active) {
        cell.appendChild(action(Dor.t("disable"), async () => {
          await Dor.api("POST", `/api/v1/staff/${s.username}/disable`);
          await loadStaff();
        }));
        cell.appendChild(action(Dor.t("reset"), async () => {
          const result = await Dor.api("POST", `/api/v1/staff/${s.username}/password`, {});
          showSecret(`${s.username}: ${Dor.t("shown_once")}`, result.password);
        }));
      }
      list.appendChild(row([s.username, s.display_name, s.role, s.centres.join(" "), s.active ? Dor.t("active") : Dor.t("disabled")], cell));
    }
  }

  $("device-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const device = await Dor.api("POST", `/api/v1/centres/${centre}/devices`, { kind: $("device-kind").value, name: $("device-name").value });
      showSecret(Dor.t("token_once"), device.token);
      event.target.reset();
      await loadDevices();
    } catch (error) { Dor.toast(error.message, "error"); }
  });

  $("staff-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const role = $("staff-role").value;
    const body = { username: $("staff-username").value, display_name: $("staff-name").value, role, centres: role === "admin" ? [] : [centre] };
    try {
      const result = await Dor.api("POST", "/api/v1/staff", body);
      showSecret(`${result.staff.username}: ${Dor.t("shown_once")}`, result.password);
      event.target.reset();
      await loadStaff();
    } catch (error) { Dor.toast(error.message, "error"); }
  });

  (async () => {
    const me = await Dor.me();
    Dor.watchSession();
    const centres = me.role === "admin"
      ? (await Dor.api("GET", "/api/v1/centres")).map((c) => c.code)
      : me.centres;
    $("admin-centre").innerHTML = centres.map((c) => `<option>${c}</option>`).join("");
    centre = centres[0];
    $("admin-centre").addEventListener("change", async (event) => { centre = event.target.value; await loadDevices(); });
    await Promise.all([loadDevices(), loadStaff()]);
  })().catch((error) => Dor.toast(error.message, "error"));
})();
