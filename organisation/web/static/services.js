// Admins change a service: the form is filled from GET /api/v1/services and sent whole with a reason
// (PUT /api/v1/services/{code}); what the server refuses is shown beside its field.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { local } = DorWords;
  let services = [];

  function documentRow(doc = { ar: "", en: "" }) {
    const index = $("documents").children.length;
    const li = document.createElement("li");
    for (const lang of ["ar", "en"]) {
      const label = document.createElement("label");
      label.textContent = Dor.t(`document_${lang}`);
      const input = document.createElement("input");
      input.lang = lang;
      input.dir = lang === "ar" ? "rtl" : "ltr";
      input.maxLength = 300;
      input.value = doc[lang];
      input.dataset.lang = lang;
      input.id = `document-${index}-${lang}`;
      label.htmlFor = input.id;
      const pair = document.createElement("div");
      pair.append(label, input);
      li.append(pair);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = Dor.t("remove");
    remove.addEventListener("click", () => li.remove());
    li.appendChild(remove);
    $("documents").appendChild(li);
  }

  function fill(code) {
    const s = services.find((x) => x.code === code);
    $("name-ar").value = s.name.ar;
    $("name-en").value = s.name.en;
    $("description-ar").value = s.description.ar;
    $("description-en").value = s.description.en;
    $("documents").replaceChildren();
    s.required_documents.forEach(documentRow);
    $("fee").value = s.fee;
    $("mean").value = s.mean_service_s;
    $("bookable").checked = s.bookable;
    $("walk-in").checked = s.walk_in;
    document.querySelector(`input[name=icon][value="${s.icon}"]`).checked = true;
    $("reason").value = "";
    clearErrors();
  }

  function clearErrors() {
    document.querySelectorAll("#service-form .error").forEach((p) => { p.hidden = true; p.textContent = ""; });
  }

  function body() {
    const documents = [...$("documents").children].map((li) => ({
      ar: li.querySelector("[data-lang=ar]").value.trim(), en: li.querySelector("[data-lang=en]").value.trim(),
    })).filter((d) => d.ar || d.en);
    return {
      name: { ar: $("name-ar").value, en: $("name-en").value },
      description: { ar: $("description-ar").value, en: $("description-en").value },
      documents,
      fee: Number($("fee").value),
      mean_service_s: Number($("mean").value),
      bookable: $("bookable").checked,
      walk_in: $("walk-in").checked,
      icon: document.querySelector("input[name=icon]:checked")?.value || "document",
      reason: $("reason").value.trim(),
    };
  }

  $("service").addEventListener("change", () => fill($("service").value));
  $("add-document").addEventListener("click", () => documentRow());
  $("service-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    $("save").disabled = true;
    try {
      const saved = await Dor.api("PUT", `/api/v1/services/${$("service").value}`, body());
      services = services.map((s) => (s.code === saved.code ? saved : s));
      fill(saved.code);
      Dor.toast(Dor.t("saved"));
    } catch (error) {
      if (error.status === 401) return;
      const box = document.querySelector(`#service-form .error[data-field="${error.field}"]`) || $("form-error");
      box.textContent = local(error.message);
      box.hidden = false;
    } finally {
      $("save").disabled = false;
    }
  });

  Dor.me().then(async () => {
    Dor.watchSession();
    services = await Dor.api("GET", "/api/v1/services");
    $("service").replaceChildren(...services.map((s) => new Option(`${s.name[Dor.lang] || s.name.ar}`, s.code)));
    fill(services[0].code);
  });
})();
