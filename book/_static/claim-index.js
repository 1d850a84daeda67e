// A verdict and evidence-class filter, and an order (book or margin), above every claim index
// table. Without JavaScript the table shows every row in book order; the controls only hide and
// reorder rows, they never change a value.
(function () {
  "use strict";

  function verdictOf(row) {
    const badge = row.querySelector(".claim-verdict");
    return badge ? badge.textContent.replace("(marginal)", "").trim() : "";
  }

  // The margin cell carries its number as a class, sort-N (millionths; -1: no margin, sorted last).
  function marginOf(row) {
    const cell = row.querySelector(".claim-margin");
    const found = cell ? /sort-(-?\d+)/.exec(cell.className) : null;
    const value = found ? Number(found[1]) : -1;
    return value < 0 ? Infinity : value;
  }

  function evidenceOf(row) {
    const chip = row.querySelector(".claim-index-evidence");
    return chip ? chip.textContent.trim() : "";
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
    const [orderLabel, orderSelect] = selectOf("Order:", "order", ["smallest margin first"]);
    orderSelect.options[0].textContent = "book order";
    const count = document.createElement("output");
    count.className = "claim-index-count";
    form.append(verdictLabel, " ", kindLabel, " ", orderLabel, " ", count);
    form.addEventListener("submit", (event) => event.preventDefault());

    const body = table.querySelector("tbody");
    function apply() {
      const ordered = orderSelect.value === "all" ? rows : [...rows].sort((a, b) => marginOf(a) - marginOf(b));
      for (const row of ordered) body.appendChild(row);
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
    orderSelect.addEventListener("change", apply);
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
