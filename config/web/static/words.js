// What every page needs to write numbers and counts the way its reader expects: the page's digits
// (data-digits on <html>: Arabic-Indic or Latin, `?digits=` to change), plural forms chosen by the
// browser's CLDR rules (the server sends each category's form from the catalogue: config/i18n.py),
// and a list separator that cannot be read as a digit (a middle dot looks like the Arabic zero ٠).
"use strict";

window.DorWords = (() => {
  const root = document.documentElement;
  const lang = root.lang === "en" ? "en" : "ar";
  const arabic = root.dataset.digits ? root.dataset.digits === "arabic" : lang === "ar";
  const ARABIC = "٠١٢٣٤٥٦٧٨٩";
  const rules = new Intl.PluralRules(lang);

  // Every ASCII digit of `value` in the page's digits.
  const local = (value) => (arabic ? String(value).replace(/[0-9]/g, (d) => ARABIC[d]) : String(value));

  // `forms` maps plural categories to texts holding %(num)d; `n` chooses the form and fills it.
  const count = (forms, n) => (forms[rules.select(n)] || forms.other).replace("%(num)d", local(n));

  // Parts of one line: "٣ بالانتظار، ~١٢ دقيقة".
  const join = (parts) => parts.filter(Boolean).join(lang === "ar" ? "، " : ", ");

  return { lang, arabic, local, count, join };
})();
