// The explore page: pick an accelerator and a model (or type numbers) and every per-chip claim
// is re-derived from its SymPy closed form printed to JavaScript (claims/explore.py writes the
// data) and judged by the policy's bands. Parsing, formatting and verdicts are calculator.js's.
(function () {
  "use strict";

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

    // One state per field: the value in SI (null: none), whether typed, and how it is written.
    const fields = {};
    data.fields.forEach((spec) => {
      const key = spec.group + "." + spec.field;
      const input = box.querySelector('input[data-name="' + spec.group + "-" + spec.field + '"]');
      fields[key] = {
        spec: spec,
        input: input,
        unit: input.parentElement.querySelector(".calc-unit"),
        message: doc.getElementById(input.getAttribute("aria-describedby")),
        si: null,
        error: null,
        edited: false,
        variable: { factor: 1, spellings: spec.spellings, unit: "", text: "" },
      };
    });

    function load(group) {
      const record = records[group][pick[group].value];
      Object.values(fields)
        .filter((f) => f.spec.group === group)
        .forEach((f) => {
          const entry = record.values[f.spec.field];
          f.edited = false;
          f.error = null;
          f.input.removeAttribute("aria-invalid");
          if (entry) {
            f.si = entry.si; // the exact hwdb value, not the rounded text
            f.input.value = entry.text;
            f.unit.textContent = entry.unit;
            f.variable = { factor: entry.factor, spellings: f.spec.spellings, unit: entry.unit, text: entry.text };
            f.input.placeholder = "";
            f.input.removeAttribute("title");
            f.message.textContent = "";
          } else {
            f.si = null;
            f.input.value = "";
            f.input.placeholder = "not in hwdb";
            f.input.title = record.name + " has no such figure in hwdb; type one to use it";
            const first = Object.entries(f.spec.spellings)[0];
            f.unit.textContent = first ? first[0] : "";
            f.variable = { factor: first ? first[1] : 1, spellings: f.spec.spellings, unit: f.unit.textContent, text: "" };
            f.message.textContent = ""; // the placeholder says so; each claim that needs it says which
          }
        });
    }

    function typed(f) {
      f.edited = true;
      if (f.input.value.trim() === "" && f.input.placeholder) {
        f.si = null;
        f.error = null;
        f.input.removeAttribute("aria-invalid");
        f.message.textContent = "";
        return;
      }
      const parsed = calc.check(f.input, f.variable, f.message);
      f.error = parsed.error || null;
      f.si = parsed.error ? null : parsed.si;
    }

    function describe() {
      const edited = Object.values(fields).filter((f) => f.edited);
      const names = pick.accelerator.selectedOptions[0].textContent + " with " + pick.model.selectedOptions[0].textContent;
      status.textContent = edited.length
        ? "Your numbers: " + names + ", with " + edited.map((f) => f.spec.label).join(", ") + " as typed."
        : "Numbers from hwdb: " + names + ".";
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
          if (f.error) invalid = true;
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
        } else if (!claim.in_scope.includes(pick.accelerator.value)) {
          verdictOut.textContent = "context: outside the claim's scope";
        } else {
          const key = calc.verdict(value, claim.judge);
          verdictOut.dataset.verdict = claim.judge.names[key];
          verdictOut.append(calc.badge(doc, key, claim.judge, ""));
        }
      });
    }

    ["accelerator", "model"].forEach((group) => {
      pick[group].addEventListener("change", () => {
        load(group);
        recompute();
      });
      load(group);
    });
    Object.values(fields).forEach((f) =>
      f.input.addEventListener("input", () => {
        typed(f);
        recompute();
      })
    );
    recompute();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".claim-explore").forEach(setup);
  });
})();
