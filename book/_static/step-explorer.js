// The explore page's step model: pick a model, chip, chip count, formats, batch and context, and the
// step's parts, bound, memory fit and throughput follow as you type. The formulas are the step
// model's closed forms printed to JavaScript by SymPy, and every record's numbers come from hwdb
// (claims/step_explorer.py writes both); this file only combines them as claims/deployment.py does.
// The pure part (evaluate) is exported for the unit tests, which run it in Node against the engine.
(function () {
  "use strict";

  const PARTS = ["compute", "weights", "attention", "kv", "communication"];

  function byId(list, id) {
    return list.find((x) => x.id === id) || null;
  }

  function compile(formula) {
    // eslint-disable-next-line no-new-func
    const f = new Function(...formula.args, "return (" + formula.code + ");");
    return (values) => f(...formula.args.map((name) => values[name]));
  }

  const compiled = new WeakMap();
  function compiledFor(data) {
    let table = compiled.get(data);
    if (!table) {
      table = {};
      Object.entries(data.formulas).forEach(([layout, exprs]) => {
        table[layout] = {};
        Object.entries(exprs).forEach(([name, formula]) => (table[layout][name] = compile(formula)));
      });
      compiled.set(data, table);
    }
    return table;
  }

  function refuse(message) {
    return { error: message };
  }

  // The chip count and the link hidden states cross, as claims/deployment.py decides them.
  function chipsAndLink(hw, chips) {
    if (chips !== null && (!Number.isInteger(chips) || chips < 1)) {
      return refuse("chips: a deployment needs a whole number of chips, at least 1");
    }
    if (hw.kind === "system") {
      const count = chips === null ? hw.size : chips;
      if (count > hw.size) return refuse("chips: " + hw.name + " has " + hw.size + " chips; pick its accelerator to span systems");
      return { count: count, link: "scaleup" };
    }
    const count = chips === null ? 1 : chips;
    if (count === 1) return { count: 1, link: "scaleup" };
    if (hw.domain === null) return refuse("chips: hwdb records no scale-up domain for " + hw.name + "; pick a system");
    if (count <= hw.domain) return { count: count, link: "scaleup" };
    if (hw.scaleout === null) return refuse("chips: " + hw.name + " connects at most " + hw.domain + " chips, and has no scale-out bandwidth in hwdb");
    return { count: count, link: "scaleout" };
  }

  function rate(hw, fmt, role) {
    if (!fmt.arithmetic) return refuse(role + ": " + fmt.id + " is a storage layout, not an arithmetic format");
    const value = hw.rates[fmt.id];
    if (value === undefined) return refuse(role + ": hwdb records no " + fmt.id.toUpperCase() + " rate for " + hw.chip);
    return { value: value };
  }

  function evaluate(data, s) {
    const model = byId(data.models, s.model);
    if (!model) return refuse("model: hwdb has no model '" + s.model + "'");
    if (model.error) return refuse(model.error);
    const hw = byId(data.hardware, s.hw);
    if (!hw) return refuse("hardware: hwdb has no accelerator or system '" + s.hw + "'");
    const where = chipsAndLink(hw, s.chips);
    if (where.error) return where;
    const shape = model.shape;
    const layout = s.layout || (shape.moe ? "ep" : "tp");
    if (!data.formulas[layout]) return refuse("layout: known layouts are " + Object.keys(data.formulas).join(", "));
    if (!data.overlaps[s.overlap]) return refuse("overlap: known readings are " + Object.keys(data.overlaps).join(", "));
    const fmt = {};
    for (const role of ["weights", "kv", "math", "attention_math"]) {
      const id = role === "attention_math" ? s.attention_math || s.math : s[role];
      fmt[role] = byId(data.formats, id);
      if (!fmt[role]) return refuse(role + ": hwdb has no number format '" + id + "'");
    }
    const fw = rate(hw, fmt.math, "math");
    if (fw.error) return fw;
    const fa = rate(hw, fmt.attention_math, "attention math");
    if (fa.error) return fa;
    let link = 1;
    if (where.count > 1) {
      link = where.link === "scaleup" ? hw.scaleup : hw.scaleout;
      if (link === null) return refuse("chips: hwdb records no " + where.link + " bandwidth for " + hw.chip);
    }
    const batch = s.batch;
    const context = s.context;
    if (!Number.isInteger(batch) || batch < 1) return refuse("batch: a whole number of sequences, at least 1");
    if (!isFinite(context) || context < 0) return refuse("context: a number of tokens, at least 0");
    const count = where.count;
    const replication = layout !== "tp" ? 1 : shape.kv_heads === 0 ? count : count / Math.min(count, shape.kv_heads);
    const seen = shape.global_layers * context + (shape.local_layers ? shape.local_layers * Math.min(context, shape.window) : 0);
    const values = {
      B: batch,
      L: context,
      G: count,
      N_always: shape.n_total - shape.routed,
      N_routed: shape.routed,
      N_active: shape.n_active,
      E_routed: shape.experts,
      E_chosen: shape.chosen,
      c: data.constants.c,
      b_w: fmt.weights.bytes,
      kappa: (model.layer_bytes[fmt.kv.id] * seen) / Math.max(context, 1),
      rho: replication,
      A: (shape.attention_per_layer * seen) / Math.max(context, 1),
      F_w: fw.value,
      F_a: fa.value,
      W: hw.W,
      M_HBM: hw.M,
      r: data.constants.r,
      S: link,
      h: shape.width,
      b_a: data.constants.b_a,
      n_layers: shape.layers,
      n_MoE: Math.max(shape.moe_layers, 1e-300),
      sigma: layout === "tp" ? 1 / count : 1,
    };
    const table = compiledFor(data)[layout];
    const out = {};
    ["compute_s", "weights_s", "attention_s", "kv_s", "comm_s", "weights_bytes", "kv_bytes", "flops", "memory_bytes",
      "capacity_bytes", "critical_batch", "context_limit", "dense_balanced_batch", "expert_balanced_batch", "max_batch"]
      .forEach((name) => (out[name] = table[name](values)));
    out.step_s = table["step:" + s.overlap](values);
    // What the closed forms leave open, as claims/deployment.py settles it.
    out.context_limit = out.context_limit > 0 ? out.context_limit : Infinity;
    out.critical_batch = out.critical_batch > 0 && context < out.context_limit ? out.critical_batch : Infinity;
    out.max_batch = Math.max(isFinite(out.max_batch) ? Math.floor(out.max_batch) : Infinity, 0);
    if (shape.routed === 0) out.expert_balanced_batch = NaN;
    out.fits = out.memory_bytes <= out.capacity_bytes;
    out.tokens_per_s = batch / out.step_s;
    out.tokens_per_s_per_chip = out.tokens_per_s / count;
    out.compute_share = (out.compute_s + out.attention_s) / out.step_s;
    const parts = [out.compute_s, out.weights_s, out.attention_s, out.kv_s, out.comm_s];
    out.bound = PARTS[parts.indexOf(Math.max(...parts))];
    out.layout = layout;
    out.chips = count;
    out.link = where.link === "scaleup" ? "scaleup_bandwidth" : "scaleout_bandwidth";
    return out;
  }

  const api = { evaluate: evaluate };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (typeof window === "undefined") return;
  window.ClaimStep = api;

  // ------------------------------------------------------------------ the page

  function fmtNumber(x, digits) {
    return window.ClaimCalc ? window.ClaimCalc.number(x, digits || 3) : String(x);
  }

  function seconds(x) {
    if (!isFinite(x)) return "—";
    if (x >= 1) return fmtNumber(x) + " s";
    if (x >= 1e-3) return fmtNumber(x * 1e3) + " ms";
    return fmtNumber(x * 1e6) + " µs";
  }

  function bytes(x) {
    return x >= 1e12 ? fmtNumber(x / 1e12) + " TB" : fmtNumber(x / 1e9) + " GB";
  }

  function tokens(x, unit) {
    if (!isFinite(x)) return "none";
    return fmtNumber(x) + (unit || "");
  }

  function setup(box) {
    const data = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
    const form = box.querySelector("form");
    const status = box.querySelector(".step-status");
    const outputs = {};
    box.querySelectorAll("output[data-out]").forEach((o) => (outputs[o.dataset.out] = o));

    function scenario() {
      const get = (name) => form.elements[name].value;
      const whole = (name) => (get(name).trim() === "" ? null : Number(get(name)));
      return {
        model: get("model"),
        hw: get("hw"),
        chips: whole("chips"),
        batch: whole("batch"),
        context: Number(get("context")),
        weights: get("weights"),
        kv: get("kv"),
        math: get("math"),
        attention_math: get("attention_math"),
        layout: get("layout"),
        overlap: get("overlap"),
      };
    }

    function fromHash() {
      const params = new URLSearchParams(window.location.hash.slice(1));
      params.forEach((value, key) => {
        if (form.elements[key]) form.elements[key].value = value;
      });
    }

    function toHash(s) {
      const params = new URLSearchParams();
      Object.entries(s).forEach(([key, value]) => {
        if (value !== null && value !== "") params.set(key, String(value));
      });
      window.history.replaceState(null, "", "#" + params.toString());
    }

    function show(result) {
      Object.values(outputs).forEach((o) => (o.textContent = "—"));
      box.dataset.state = result.error ? "refused" : "ok";
      if (result.error) {
        status.textContent = "Refused: " + result.error;
        return;
      }
      status.textContent =
        "A step of " + result.chips + " chip" + (result.chips === 1 ? "" : "s") + " (" + result.layout + ", hidden states over " +
        (result.link === "scaleup_bandwidth" ? "the scale-up links" : "the scale-out NICs") + "): bound by " + result.bound + ".";
      outputs.step.textContent = seconds(result.step_s);
      outputs.step.dataset.value = String(result.step_s);
      ["compute_s", "weights_s", "attention_s", "kv_s", "comm_s"].forEach((k) => {
        outputs[k].textContent = seconds(result[k]);
        outputs[k].dataset.value = String(result[k]);
      });
      outputs.bound.textContent = result.bound;
      outputs.memory.textContent = bytes(result.memory_bytes) + " of " + bytes(result.capacity_bytes) + " per chip";
      outputs.fits.textContent = result.fits ? "fits" : "does not fit";
      outputs.max_batch.textContent = tokens(result.max_batch, " sequences");
      outputs.tokens.textContent = tokens(result.tokens_per_s, " tokens/s");
      outputs.tokens_chip.textContent = tokens(result.tokens_per_s_per_chip, " tokens/s");
      outputs.critical.textContent = tokens(result.critical_batch, " sequences");
      outputs.limit.textContent = tokens(result.context_limit, " tokens");
      outputs.dense.textContent = tokens(result.dense_balanced_batch, " tokens");
      outputs.expert.textContent = isNaN(result.expert_balanced_batch) ? "dense model" : tokens(result.expert_balanced_batch, " tokens");
    }

    function update() {
      const s = scenario();
      toHash(s);
      show(evaluate(data, s));
    }

    fromHash();
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", (event) => event.preventDefault());
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".step-explore").forEach(setup);
  });
})();
