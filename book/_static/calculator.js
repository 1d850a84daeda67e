// Claim calculators: evaluate the closed form SymPy printed to JavaScript, on SI magnitudes.
(function () {
  function format(x) {
    if (!isFinite(x)) return String(x);
    return Number(x.toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 12 });
  }
  function setup(box) {
    const spec = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
    const names = spec.vars.map((v) => v.name).concat(Object.keys(spec.constants));
    const fn = new Function(...names, "return " + spec.expr + ";");
    const inputs = Array.from(box.querySelectorAll("input[data-name]"));
    const out = box.querySelector('output[data-role="value"]');
    function update() {
      const args = spec.vars.map((v, i) => parseFloat(inputs[i].value) * v.factor);
      const value = fn(...args, ...Object.values(spec.constants)) / spec.result_factor;
      out.dataset.value = String(value);
      out.textContent = format(value) + (spec.result_unit ? " " + spec.result_unit : "");
    }
    inputs.forEach((input) => input.addEventListener("input", update));
    update();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".claim-calculator").forEach(setup);
  });
})();
