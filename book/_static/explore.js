// The explore page: pick an accelerator and a model (or type numbers) and every per-chip claim
// is re-derived from its SymPy closed form printed to JavaScript (claims/explore.py writes the
// data) and judged by the policy's bands. Parsing, field rules, formatting and verdicts are
// calculator.js's. The lecture's verdict is shown only on the claim's own model; the scenario
// (chip, model, typed numbers) lives in the address's query, so a link reproduces it.
(function () {
  "use strict";

  const GROUPS = ["accelerator", "model"];

  function setup(box) {
    const calc = window.ClaimCalc;
    const doc = box.ownerDocument;
    const data = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
    const pick = {
      accelerator: box.querySelector('select[name="accelerator"]'),
      model: box.querySelector('select[name="model"]'),
    };
    const records = { accelerator: {}, model: {} };
    data.accelerators.forEach((r) => (records.accelerator[r.id] = r));
    data.models.forEach((r) => (records.model[r.id] = r));
    const status = box.querySelector(".explore-status");

    // One entry per field ("group.field"), as calculator.js's read and mark expect: the value in SI
    // (null: none), its error, when it was last typed, and the variable (unit, rules) it is read with.
    const fields = {};
    data.fields.forEach((spec) => {
      const input = box.querySelector('input[data-name="' + spec.group + "-" + spec.field + '"]');
      fields[spec.group + "." + spec.field] = {
        spec: spec,
        input: input,
        unit: input.parentElement.querySelector(".calc-unit"),
        echo: input.closest(".calc-field").querySelector("output.calc-echo"),
        message: doc.getElementById(input.getAttribute("aria-describedby")),
        si: null,
        error: null,
        echoed: "",
        stamp: 0,
        edited: false,
        variable: Object.assign({}, spec, { factor: 1, unit: "", text: "" }),
      };
    });
    let clock = 0;

    function load(group) {
      const record = records[group][pick[group].value];
      Object.values(fields)
        .filter((f) => f.spec.group === group)
        .forEach((f) => {
          const entry = record.values[f.spec.field];
          f.edited = false;
          f.error = null;
          f.echoed = "";
          f.stamp = 0;
          if (entry) {
            f.si = entry.si; // the exact hwdb value, not the rounded text
            f.input.value = entry.text;
            f.unit.textContent = entry.unit;
            f.variable = Object.assign({}, f.spec, { factor: entry.factor, unit: entry.unit, text: entry.text });
            f.input.placeholder = "";
            f.input.removeAttribute("title");
          } else {
            f.si = null;
            f.input.value = "";
            f.input.placeholder = "not in hwdb";
            f.input.title = record.name + " has no such figure in hwdb; type one to use it";
            const first = Object.entries(f.spec.spellings)[0];
            f.unit.textContent = first ? first[0] : "";
            f.variable = Object.assign({}, f.spec, { factor: first ? first[1] : 1, unit: f.unit.textContent, text: "" });
          }
        });
    }

    function typed(f) {
      f.edited = true;
      if (f.input.value.trim() === "" && f.input.placeholder) {
        f.si = null; // a figure the record lacks, left empty: each claim that needs it says which
        f.error = null;
        f.echoed = "";
        return;
      }
      calc.read(f, ++clock);
    }

    function describe() {
      const edited = Object.values(fields).filter((f) => f.edited);
      const names = pick.accelerator.selectedOptions[0].textContent + " with " + pick.model.selectedOptions[0].textContent;
      status.textContent = edited.length
        ? "Your numbers: " + names + ", with " + edited.map((f) => f.spec.label).join(", ") + " as typed."
        : "Numbers from hwdb: " + names + ".";
    }

    // The scenario in the address: ?accelerator=…&model=…&model.total_params=… (as typed), keeping
    // the rest of the address (the step explorer's #hash, a search highlight).
    function save() {
      const params = new URLSearchParams(window.location.search);
      GROUPS.forEach((group) => params.set(group, pick[group].value));
      Object.entries(fields).forEach(([key, f]) => {
        if (f.edited) params.set(key, f.input.value);
        else params.delete(key);
      });
      window.history.replaceState(window.history.state, "", window.location.pathname + "?" + params + window.location.hash);
    }

    function restore() {
      const params = new URLSearchParams(window.location.search);
      const unknown = [];
      GROUPS.forEach((group) => {
        const id = params.get(group);
        if (id === null) return;
        if (records[group][id]) pick[group].value = id;
        else unknown.push(group + " “" + id + "”");
      });
      GROUPS.forEach(load);
      Object.entries(fields).forEach(([key, f]) => {
        if (!params.has(key)) return;
        f.input.value = params.get(key);
        typed(f);
      });
      return unknown;
    }

    const evaluators = {};
    data.claims.forEach((claim) => {
      const vars = claim.args.map((arg, i) => ({ name: "v" + i }));
      evaluators[claim.id] = calc.compile({ vars: vars, constants: claim.constants, expr: claim.expr, to_unit: claim.to_unit });
    });

    function cell(row, role) {
      return row.querySelector('output[data-role="' + role + '"]');
    }

    function recompute() {
      describe();
      calc.mark(fields, data.ordered);
      data.claims.forEach((claim) => {
        const row = box.querySelector('tr[data-claim="' + claim.id + '"]');
        const valueOut = cell(row, "value");
        const verdictOut = cell(row, "verdict");
        verdictOut.textContent = "";
        delete verdictOut.dataset.verdict;
        valueOut.dataset.value = "";
        const args = [];
        const missing = [];
        let invalid = false;
        claim.args.forEach((arg) => {
          if (arg.group === "fixed") {
            args.push(arg.si);
            return;
          }
          const f = fields[arg.group + "." + arg.field];
          if (f.problem) invalid = true;
          else if (f.si === null) missing.push(f.spec.label);
          args.push(f.si);
        });
        if (invalid || missing.length) {
          valueOut.textContent = invalid ? "— (correct the input marked)" : "— (needs " + missing.join(", ") + ")";
          verdictOut.textContent = "—";
          return;
        }
        const value = evaluators[claim.id](args);
        if (!isFinite(value)) {
          valueOut.textContent = "— (no finite value)";
          verdictOut.textContent = "—";
          return;
        }
        valueOut.dataset.value = String(value);
        valueOut.textContent = calc.quantity(value, claim.format);
        if (claim.judge.mode === "none") {
          verdictOut.textContent = "none computed";
        } else if (claim.model && claim.model !== pick.model.value) {
          // The lecture's figure is about its own model: another model's value is shown, not judged against it.
          const own = records.model[claim.model];
          verdictOut.textContent = "not judged: the claim is about " + (own ? own.name : claim.model);
        } else if (!claim.in_scope.includes(pick.accelerator.value)) {
          verdictOut.textContent = "context: outside the claim's scope";
        } else {
          const key = calc.verdict(value, claim.judge);
          verdictOut.dataset.verdict = claim.judge.names[key];
          verdictOut.append(calc.badge(doc, key, claim.judge, ""));
        }
      });
    }

    GROUPS.forEach((group) => {
      pick[group].addEventListener("change", () => {
        load(group);
        recompute();
        save();
      });
    });
    Object.values(fields).forEach((f) =>
      f.input.addEventListener("input", () => {
        typed(f);
        recompute();
        save();
      })
    );
    const unknown = restore();
    recompute();
    if (unknown.length) status.textContent += " The address named no such " + unknown.join(" or ") + " in hwdb; showing the default.";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".claim-explore").forEach(setup);
  });
})();
