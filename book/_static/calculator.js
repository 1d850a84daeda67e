// Claim calculators: evaluate the closed form SymPy printed to JavaScript, on SI magnitudes,
// and judge the value by the bands the policy exported (claims/calculator.py writes the spec).
// The pure functions are shared with the explore page (window.ClaimCalc) and with the unit
// tests, which load this file in Node (module.exports).
(function (root) {
  "use strict";

  // Python's round(x, decimals): on the exact binary value of x, ties to even.
  function roundHalfEven(x, decimals) {
    const exact = Math.abs(x).toFixed(100); // every digit of the double (|x| < 1e21)
    const [whole, fraction] = exact.split(".");
    const digits = whole + fraction;
    const cut = whole.length + decimals; // digits kept
    if (cut <= 0) return 0;
    const kept = digits.slice(0, cut);
    const rest = digits.slice(cut);
    let n = Number(kept);
    if (/^50*$/.test(rest)) n += n % 2; // exactly half: to even
    else if (rest[0] >= "5") n += 1; // more than half
    const scaled = decimals >= 0 ? n / 10 ** decimals : n * 10 ** -decimals;
    return x < 0 ? -scaled : scaled;
  }

  // claims.formatting.number: three significant figures, thousands separators, no trailing zeros.
  function number(x, significant) {
    const sig = significant || 3;
    if (x === 0) return "0";
    if (!isFinite(x)) return String(x);
    const magnitude = Math.floor(Math.log10(Math.abs(x)));
    if (magnitude >= 15 || magnitude <= -5) {
      return x.toExponential(sig - 1).replace(/e([+-])(\d)$/, (m, sign, d) => "e" + sign + "0" + d); // Python writes e-06, e+15
    }
    const decimals = sig - 1 - magnitude;
    const rounded = roundHalfEven(x, decimals);
    const digits = Math.max(decimals, 0);
    const text = rounded.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }

  // claims.formatting.claim_quantity, driven by the format the spec exports.
  function quantity(value, format) {
    const digits = format.digits;
    if (value === 0) return "zero";
    if (format.kind === "noun") {
      const text = number(value, digits); // a count of one takes the singular, as claims.formatting.counted
      return text + " " + (text === "1" && format.one ? format.one : format.label);
    }
    if (format.kind === "count") {
      const plain = value * format.plain;
      const scales = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
      for (const [scale, suffix] of scales) {
        if (Math.abs(plain) >= Math.max(scale, 1e5)) return number(plain / scale, digits) + suffix + " " + format.label;
      }
      return number(plain, digits) + " " + format.label;
    }
    if (format.kind === "ratio") {
      if (value > 0 && value < 0.01) return "1/" + number(1 / value, digits);
      return value >= 1 ? number(value, digits) + "×" : number(value, digits);
    }
    const text = number(value, digits);
    const label = format.plural && text !== "1" ? format.plural : format.label;
    return text + (label === "%" ? " %" : " " + label);
  }

  // What a reader typed, in SI base units, or why it is refused. A variable carries its field's
  // rules (claims/plausible.py): zero allowed or not, a count or not, the plausible range, the base unit.
  const NUMBER = /^([+\-\u2212]?)((?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+\-\u2212]?\d+)?)\s*(.*)$/;
  function parse(text, variable) {
    const typed = String(text).replace(/[\s\u00a0\u202f]+/g, " ").trim();
    if (!typed) return { error: "Enter a value." };
    const match = NUMBER.exec(typed);
    if (!match) {
      if (/^[+\-]?(inf|infinity|∞|nan)/i.test(typed)) return { error: "Not a finite number." };
      return { error: "Not a number: type digits, e.g. " + (variable.text || "8") + "." };
    }
    const [, sign, body, rest] = match;
    const mantissa = body.split(/[eE]/)[0];
    if (mantissa.includes(",") && !/^\d{1,3}(,\d{3})*(\.\d*)?$/.test(mantissa)) {
      return { error: "Commas only group thousands; use a point for decimals." };
    }
    const negative = sign === "-" || sign === "\u2212";
    const value = Number((negative ? "-" : "") + body.replace(/,/g, "").replace("\u2212", "-"));
    if (Number.isNaN(value)) return { error: "Not a number." };
    if (!isFinite(value)) return { error: "Not a finite number: too large." };
    if (value < 0) return { error: "Cannot be negative." };
    if (value === 0 && !variable.zero) return { error: "Must be more than zero." };
    let factor = variable.factor;
    const unit = rest.replace(/\s+/g, "");
    if (unit) {
      const spellings = variable.spellings || {};
      factor = spellings[unit] !== undefined ? spellings[unit] : spellings[unit.toLowerCase()];
      if (factor === undefined) {
        return { error: "Unknown unit “" + rest + "”" + (variable.unit ? ": write it in " + variable.unit + "." : ".") };
      }
    }
    const si = value * factor;
    if (!isFinite(si)) return { error: "Not a finite number: too large." };
    if (si < 0 || (si === 0 && value !== 0)) return { error: "Must be more than zero (too small to represent)." };
    return plausible(si, value, typed, unit ? null : body, variable);
  }

  function capital(text) {
    return text ? text[0].toUpperCase() + text.slice(1) : text;
  }

  const SCALES = { 1e3: "thousands", 1e6: "millions", 1e9: "billions", 1e12: "trillions", 1e15: "quadrillions" };

  // The field's rules on a parsed value: a count is whole, a value lies within the physical range.
  // ``bare``: the number as typed when it came without a unit (read in the field's unit), else null.
  function plausible(si, value, typed, bare, variable) {
    const name = variable.label || "this field";
    if (variable.count && Math.abs(si - Math.round(si)) > 1e-9 * Math.max(1, Math.abs(si))) {
      return { error: capital(name) + ": a count, so a whole number." };
    }
    if (variable.high === undefined || si === 0 || (si >= variable.low && si <= variable.high)) return { si: si };
    const base = variable.base;
    if (bare !== null && base && base[1] !== variable.factor) {
      // A bare number that is plausible only in the unit's base: the whole figure typed into a field of billions.
      const meant = value * base[1];
      if (meant >= variable.low && meant <= variable.high) {
        const scale = variable.factor / base[1];
        const words = SCALES[scale] ? SCALES[scale] + " (" + variable.unit + ")" : variable.unit + ", " + number(scale, 5) + " " + base[0] + " each";
        return {
          error:
            capital(name) + ": this field is in " + words + ", so " + bare + " means " + number(si / base[1]) + " " +
            base[0] + ", beyond any plausible figure. For " + bare + " " + base[0] + ", type " +
            number(meant / variable.factor, 5) + " or “" + bare + " " + base[0] + "”.",
        };
      }
    }
    const shown = bare === null ? typed : bare + (variable.unit ? " " + variable.unit : "");
    return { error: capital(name) + ": " + shown + " is beyond any plausible figure (" + variable.range + ")." };
  }

  // The parsed value written back in the field's own unit, where it differs from what was typed ("= 4 TB/s").
  function echo(text, si, variable) {
    const canonical = number(si / variable.factor, 5);
    if (String(text).replace(/[\s,\u00a0\u202f]/g, "") === canonical.replace(/,/g, "")) return "";
    return "= " + canonical + (variable.unit ? " " + variable.unit : "");
  }

  function written(entry) {
    return number(entry.si / entry.variable.factor, 5) + (entry.variable.unit ? " " + entry.variable.unit : "");
  }

  // Pairs [smaller, larger] of one record's fields (claims/plausible.py ORDERED) that the typed values break:
  // the message goes to the field of the pair typed last.
  function orderErrors(pairs, entries) {
    const out = {};
    (pairs || []).forEach(([small, large]) => {
      const a = entries[small];
      const b = entries[large];
      if (!a || !b || a.error || b.error || a.si === null || b.si === null) return;
      if (a.si <= b.si * (1 + 1e-12)) return;
      if (a.stamp >= b.stamp) out[small] = out[small] || capital(a.variable.label) + " cannot exceed " + b.variable.label + " (" + written(b) + ").";
      else out[large] = out[large] || capital(b.variable.label) + " cannot be less than " + a.variable.label + " (" + written(a) + ").";
    });
    return out;
  }

  // An input's state from what is in it now (entry: input, variable, and the clock of its last edit).
  function read(entry, clock) {
    const parsed = parse(entry.input.value, entry.variable);
    entry.error = parsed.error || null;
    entry.si = parsed.error ? null : parsed.si;
    entry.echoed = parsed.error ? "" : echo(entry.input.value, parsed.si, entry.variable);
    if (clock !== undefined) entry.stamp = clock;
  }

  // Show each field's problem (its own, or a broken order) beside it, or its echo; returns whether all are fine.
  function mark(entries, pairs) {
    const order = orderErrors(pairs, entries);
    let fine = true;
    Object.entries(entries).forEach(([key, e]) => {
      e.problem = e.error || order[key] || null;
      if (e.problem) fine = false;
      e.message.textContent = e.problem || "";
      if (e.echo) e.echo.textContent = e.problem ? "" : e.echoed || "";
      if (e.problem) e.input.setAttribute("aria-invalid", "true");
      else e.input.removeAttribute("aria-invalid");
    });
    return fine;
  }

  // claims.policy.Stated.verdict on the value in the claim's unit: "holds", "rough" or "fails".
  function within(value, band, edge) {
    const lo = band[0] === null ? -Infinity : band[0];
    const hi = band[1] === null ? Infinity : band[1];
    return lo - Math.abs(lo) * edge <= value && value <= hi + Math.abs(hi) * edge;
  }
  function verdict(value, judge) {
    const stated = value * judge.to_stated;
    if (within(stated, judge.holds, judge.edge)) return "holds";
    if (judge.rough !== null && within(stated, judge.rough, judge.edge)) return "rough";
    return "fails";
  }

  // The closed form as a function of SI inputs (in the spec's order), returning the claim's unit.
  function compile(spec) {
    const names = spec.vars.map((v) => v.name).concat(Object.keys(spec.constants));
    const fn = new Function(...names, "return " + spec.expr + ";");
    const constants = Object.values(spec.constants);
    return (args) => fn(...args, ...constants) * spec.to_unit;
  }

  function badge(doc, key, judge, prefix) {
    const text = judge.names[key];
    const span = doc.createElement("span");
    span.className = "claim-verdict verdict-" + text.replace(/ /g, "-");
    span.textContent = text;
    const out = doc.createDocumentFragment();
    if (prefix) out.append(prefix);
    out.append(span);
    return out;
  }

  function setup(box) {
    const doc = box.ownerDocument;
    const spec = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
    const evaluate = compile(spec);
    const entries = {};
    spec.vars.forEach((v) => {
      const input = box.querySelector('input[data-name="' + v.name + '"]');
      entries[v.name] = {
        input: input,
        variable: v,
        message: doc.getElementById(input.getAttribute("aria-describedby")),
        echo: box.querySelector('output.calc-echo[for="' + input.id + '"]'),
        si: v.si, // the exact hwdb value until the reader types
        error: null,
        echoed: "",
        stamp: 0,
      };
    });
    const out = box.querySelector('output[data-role="value"]');
    const verdictOut = box.querySelector('output[data-role="verdict"]');
    let clock = 0;
    function update() {
      verdictOut.textContent = "";
      delete verdictOut.dataset.verdict;
      if (!mark(entries, spec.ordered)) {
        out.textContent = "— (correct the input marked)";
        out.dataset.value = "";
        verdictOut.textContent = "—";
        return;
      }
      const value = evaluate(spec.vars.map((v) => entries[v.name].si));
      if (!isFinite(value)) {
        out.textContent = "— (no finite value for these inputs)";
        out.dataset.value = "";
        verdictOut.textContent = "—";
        return;
      }
      out.dataset.value = String(value);
      out.textContent = quantity(value, spec.format);
      const judge = spec.judge;
      if (judge.mode === "none") {
        verdictOut.textContent = "none computed";
        return;
      }
      const key = verdict(value, judge);
      verdictOut.dataset.verdict = judge.names[key];
      verdictOut.append(badge(doc, key, judge, judge.mode === "row" ? "this row: " : ""));
    }
    Object.values(entries).forEach((entry) => {
      entry.input.addEventListener("input", () => {
        read(entry, ++clock);
        update();
      });
    });
    update();
  }

  const api = { number, quantity, parse, echo, orderErrors, read, mark, verdict, compile, badge };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.ClaimCalc = api;
  if (typeof document !== "undefined") {
    document.addEventListener("DOMContentLoaded", function () {
      document.querySelectorAll(".claim-calculator").forEach(setup);
    });
  }
})(typeof window !== "undefined" ? window : this);
