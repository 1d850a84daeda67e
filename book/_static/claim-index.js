// A verdict and evidence-class filter above every claim index table. Without JavaScript the
// table simply shows every row; the filter only hides rows, it never changes a value.
(function () {
  "use strict";

  function verdictOf(row) {
    const badge = row.querySelector(".claim-verdict");
    return badge ? badge.textContent.trim() : "";
  }

  function evidenceOf(row) {
    const cells = row.querySelectorAll("td");
    return cells.length > 2 ? cells[2].textContent.trim() : "";
  }

  function selectOf(label, name, values) {
    const wrapper = document.createElement("label");
    wrapper.textContent = label + " ";
    const select = document.createElement("select");
    select.name = name;
    for (const value of ["all", ...values]) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      select.appendChild(option);
    }
    wrapper.appendChild(select);
    return [wrapper, select];
  }

  function install(table) {
    const rows = Array.from(table.querySelectorAll("tbody tr"));
    if (rows.length === 0) return;
    const verdicts = [...new Set(rows.map(verdictOf))].sort();
    const kinds = [...new Set(rows.map(evidenceOf))].sort();
    const form = document.createElement("form");
    form.className = "claim-index-filter";
    form.setAttribute("role", "search");
    form.setAttribute("aria-label", "Filter the claims");
    const [verdictLabel, verdictSelect] = selectOf("Verdict:", "verdict", verdicts);
    const [kindLabel, kindSelect] = selectOf("Evidence:", "evidence", kinds);
    const count = document.createElement("output");
    count.className = "claim-index-count";
    form.append(verdictLabel, " ", kindLabel, " ", count);
    form.addEventListener("submit", (event) => event.preventDefault());

    function apply() {
      let shown = 0;
      for (const row of rows) {
        const visible =
          (verdictSelect.value === "all" || verdictOf(row) === verdictSelect.value) &&
          (kindSelect.value === "all" || evidenceOf(row) === kindSelect.value);
        row.hidden = !visible;
        if (visible) shown += 1;
      }
      count.textContent = shown + " of " + rows.length + " claims";
    }

    verdictSelect.addEventListener("change", apply);
    kindSelect.addEventListener("change", apply);
    table.parentNode.insertBefore(form, table);
    apply();
  }

  function start() {
    document.querySelectorAll("table.claim-index").forEach(install);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
